/// A fault the simulated kernel injects, kept in `.sriov-sim/faults.json`
/// under the root so that another process (the agent under test) sees it.
public enum SimulatedFault: Codable, Sendable, Hashable {
    /// Writes to paths ending in `pathSuffix` (after resolving
    /// `sys/class/net/NAME` to the device) fail with `errno`, `times`
    /// times or, when nil, until the fault is cleared.
    /// Example: `failWrite(pathSuffix: "0000:18:00.0/sriov_numvfs", errno: EBUSY, times: nil)`.
    case failWrite(pathSuffix: String, errno: Int32, times: Int?)
    /// VFs of the PF appear `delayMilliseconds` after `sriov_numvfs` is
    /// written instead of at once.
    case lateVirtualFunctions(pciAddress: String, delayMilliseconds: Int)
    /// The device vanishes (as on surprise removal) when a path ending in
    /// `pathSuffix` is written; the write fails with ENODEV.
    case vanishOnWrite(pathSuffix: String, pciAddress: String)
}
