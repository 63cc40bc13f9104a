import Glibc
import Logging
import SriovHost
import SriovProto
import SriovSimKernel
import SriovTestSupport

/// A simulated node in a temporary directory with an applier on it.
struct SimNode {
    let root: String
    let kernel: SimulatedKernel
    let applier: HostApplier

    init(_ nics: String, vfTimeout: Duration = .seconds(2)) throws {
        root = try RepoPaths.temporaryDirectory("sriov-host").path
        kernel = try SimulatedKernel.create(root: root + "/sysfs", inventory: NICInventory(parsing: nics))
        var config = HostApplier.Configuration()
        config.vfTimeout = vfTimeout
        config.pollInterval = .milliseconds(5)
        applier = HostApplier(sysfs: kernel, store: CheckpointStore(directory: root + "/state"), configuration: config)
    }

    /// A second applier on the same tree and state (an agent after a restart).
    func restartedApplier() -> HostApplier {
        HostApplier(sysfs: kernel, store: applier.store, configuration: applier.configuration)
    }

    func pf(_ pci: String) -> SriovV1.InterfaceExt? { applier.discovery.interfaceByAddress(pci) }

    func read(_ path: String) -> String { (try? kernel.read(path)) ?? "<missing>" }
}

/// A VF group: `group("0-3", "vfio-pci", mtu: 9000, policy: "p1")`.
func group(_ range: String, _ type: String = "netdevice", mtu: Int32 = 0, policy: String = "policy-1") -> SriovV1.VfGroup {
    var g = SriovV1.VfGroup()
    g.vfRange = range
    g.deviceType = type
    g.mtu = mtu
    g.policyName = policy
    g.resourceName = policy.replacingOccurrences("-", "_")
    return g
}

/// A PF spec.
func iface(_ pci: String, numVfs: Int32, mtu: Int32 = 0, _ groups: [SriovV1.VfGroup] = [], externallyManaged: Bool = false,
           linkType: String = "", eSwitchMode: String = "") -> SriovV1.Interface {
    var i = SriovV1.Interface()
    i.pciAddress = pci
    i.numVfs = numVfs
    i.mtu = mtu
    i.vfGroups = groups.isEmpty && numVfs > 0 ? [group("0-\(numVfs - 1)")] : groups
    i.externallyManaged = externallyManaged
    i.linkType = linkType
    i.eSwitchMode = eSwitchMode
    return i
}

func spec(_ interfaces: SriovV1.Interface...) -> SriovV1.SriovNetworkNodeStateSpec {
    var s = SriovV1.SriovNetworkNodeStateSpec()
    s.interfaces = interfaces
    return s
}

extension String {
    func replacingOccurrences(_ a: Character, _ b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
