package io.switchboard.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package arrows of docs/architecture.md, checked on the compiled classes: the signaling core
 * owns its ports and imports no adapter, the wire values import nothing of the project, and no two
 * packages depend on each other in a cycle.
 */
class LayeringTest {
  private static JavaClasses main;

  @BeforeAll
  static void importMainClasses() {
    main = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.switchboard");
  }

  @Test
  void noPackageCycles() {
    // Each package is its own slice, so a cycle between a package and its sub-package counts too.
    slices().matching("io.switchboard.(**)").should().beFreeOfCycles().check(main);
  }

  @Test
  void theCoreImportsNoAdapter() {
    noClasses().that().resideInAPackage("io.switchboard.signaling..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.switchboard.backplane..", "io.switchboard.metrics..", "io.switchboard.edge..",
            "io.switchboard.config..", "io.switchboard.security..", "io.redis..", "io.micrometer..")
        .check(main);
  }

  @Test
  void wireValuesImportNothingOfTheProject() {
    noClasses().that().resideInAPackage("io.switchboard.wire")
        .should().dependOnClassesThat().resideOutsideOfPackages("io.switchboard.wire", "java..")
        .check(main);
  }

  @Test
  void adaptersDoNotKnowEachOther() {
    noClasses().that().resideInAPackage("io.switchboard.backplane..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.switchboard.edge..", "io.switchboard.metrics..", "io.switchboard.signaling",
            "io.switchboard.signaling.command..")
        .check(main);
    noClasses().that().resideInAPackage("io.switchboard.metrics..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.switchboard.backplane..", "io.switchboard.edge..", "io.switchboard.signaling")
        .check(main);
  }
}
