package io.switchboard.backplane;

import io.switchboard.signaling.port.Backplane;

import io.switchboard.backplane.local.LocalBackplane;

/** The contract, on the in-memory backplane: nodes of one test share one in-process cluster. */
class LocalBackplaneTest extends ResumeContractTest {
  private LocalBackplane anchor;

  @Override
  protected Backplane newNode(String nodeId) {
    if (anchor == null) {
      anchor = LocalBackplane.standalone(nodeId);
      return anchor;
    }
    return LocalBackplane.sharing(anchor, nodeId);
  }
}
