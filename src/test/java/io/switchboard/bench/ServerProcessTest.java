package io.switchboard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** How the benchmark splits a server's CPU by thread, from the names the kernel keeps (15 bytes). */
class ServerProcessTest {

  @Test
  void threadsAreSortedByTheirKernelNames() {
    assertEquals("event loops", ServerProcess.threadKind("vert.x-eventloo"));
    assertEquals("event loops", ServerProcess.threadKind("multiThreadIoEv"));
    assertEquals("JIT compilers", ServerProcess.threadKind("C2 CompilerThre"));
    assertEquals("JIT compilers", ServerProcess.threadKind("C1 CompilerThre"));
    assertEquals("VM thread and GC", ServerProcess.threadKind("VM Thread"));
    assertEquals("VM thread and GC", ServerProcess.threadKind("GC Thread#0"));
    assertEquals("other", ServerProcess.threadKind("vert.x-internal-"));
    assertEquals("other", ServerProcess.threadKind("java"));
  }
}
