#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import SriovHost
import SriovSync

/// A simulated Linux kernel behind the ``Sysfs`` protocol.
///
/// The state is a real directory tree under `root` laid out like sysfs
/// (`sys/bus/pci/devices/…`, `sys/class/net/…`, drivers, `virtfnN` and
/// `driver` links), so it can be inspected with `ls` and read by
/// ``FileSysfs`` too. A plain file write cannot run code, so the kernel's
/// reactions live here: every write through ``write(_:_:)`` is checked and
/// carried out the way the kernel would — `sriov_numvfs` creates and removes
/// VF devices and `virtfn` links (EBUSY from one non-zero count to another,
/// EINVAL above `sriov_totalvfs`), `driver_override`, `bind`, `unbind` and
/// `drivers_probe` bind drivers (a netdevice driver brings a netdev), and MTU
/// and flags writes take effect. Reads go to the files.
///
/// Several instances (in several processes) may open the same tree: the
/// hardware description is in `.sriov-sim/machine.json` and injected faults
/// in `.sriov-sim/faults.json`, read at every write.
public final class SimulatedKernel: Sysfs {
    public let root: String
    public let machine: SimulatedMachine
    let files: FileSysfs

    struct Pending {
        var count: Int
        var readyAt: ContinuousClock.Instant
    }

    struct State {
        var pending: [String: Pending] = [:]
        var log: [String] = []
    }

    let state = Locked(State())

    /// The directory of the simulator's own files under the root.
    public static let metadataDirectory = ".sriov-sim"

    /// Drivers the tree offers under `sys/bus/pci/drivers`.
    public static let drivers = ["i40e", "ice", "iavf", "mlx5_core", "vfio-pci"]

    /// Opens an existing tree made by ``create(root:inventory:)``.
    public init(root: String) throws(SimulatedKernelError) {
        self.files = FileSysfs(root: root)
        self.root = files.root
        guard let bytes = TreeFiles.readFile(files.absolute("\(Self.metadataDirectory)/machine.json")) else {
            throw SimulatedKernelError("\(root) holds no simulated node (no \(Self.metadataDirectory)/machine.json); create one with `sriov-agent simulate`")
        }
        do {
            machine = try JSONDecoder().decode(SimulatedMachine.self, from: Data(bytes))
        } catch {
            throw SimulatedKernelError("\(root)/\(Self.metadataDirectory)/machine.json is not valid: \(error)")
        }
    }

    /// Whether `root` holds a simulated tree.
    public static func isSimulated(root: String) -> Bool {
        FileSysfs(root: root).exists("\(metadataDirectory)/machine.json")
    }

    /// Builds a fresh tree for `inventory` under `root` (which may exist;
    /// a previous tree there is replaced) and opens it.
    @discardableResult
    public static func create(root: String, inventory: NICInventory) throws(SimulatedKernelError) -> SimulatedKernel {
        let fs = FileSysfs(root: root)
        TreeFiles.removeTree(fs.absolute("sys"))
        TreeFiles.removeTree(fs.absolute(metadataDirectory))
        for dir in ["sys/bus/pci/devices", "sys/class/net", metadataDirectory] {
            try TreeFiles.makeDirectories(fs.absolute(dir))
        }
        for driver in drivers {
            try TreeFiles.makeDirectories(fs.absolute("sys/bus/pci/drivers/\(driver)"))
            try TreeFiles.writeFile(fs.absolute("sys/bus/pci/drivers/\(driver)/bind"), "")
            try TreeFiles.writeFile(fs.absolute("sys/bus/pci/drivers/\(driver)/unbind"), "")
        }
        try TreeFiles.writeFile(fs.absolute(SysfsPath.driversProbe), "")
        // An NVMe drive with SR-IOV: not a network device, never a PF.
        let nvme = fs.absolute(SysfsPath.device("0000:00:17.0"))
        try TreeFiles.makeDirectories(nvme)
        for (name, value) in [("vendor", "0x8086"), ("device", "0x0a54"), ("class", "0x010802"), ("sriov_totalvfs", "8"), ("sriov_numvfs", "0")] {
            try TreeFiles.writeFile("\(nvme)/\(name)", value + "\n")
        }

        let machine = SimulatedMachine(inventory: inventory)
        for pf in machine.pfs {
            let dir = fs.absolute(SysfsPath.device(pf.pciAddress))
            try TreeFiles.makeDirectories(dir)
            for (name, value) in [("vendor", "0x" + pf.model.vendor), ("device", "0x" + pf.model.pfDevice), ("class", "0x020000"),
                                  ("sriov_totalvfs", "\(pf.model.totalVfs)"), ("sriov_numvfs", "0"), ("driver_override", "(null)")] {
                try TreeFiles.writeFile("\(dir)/\(name)", value + "\n")
            }
            try TreeFiles.link("\(dir)/driver", to: "../../drivers/\(pf.model.pfDriver)")
            try makeNetdev(fs: fs, device: pf.pciAddress, name: pf.name, mac: pf.mac, mtu: 1500, up: false, speed: pf.model.speedMbps)
        }
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let json = String(decoding: try encoder.encode(machine), as: UTF8.self)
            try TreeFiles.writeFile(fs.absolute("\(metadataDirectory)/machine.json"), json + "\n")
        } catch let e as SimulatedKernelError {
            throw e
        } catch {
            throw SimulatedKernelError("encoding the machine description: \(error)")
        }
        try TreeFiles.writeFile(fs.absolute("\(metadataDirectory)/faults.json"), "[]\n")
        return try SimulatedKernel(root: root)
    }

    /// Removes a directory tree (a simulated node and anything beside it)
    /// without following symbolic links.
    public static func remove(root: String) {
        TreeFiles.removeTree(root)
    }

    // MARK: Sysfs

    public func read(_ path: String) throws(SysfsError) -> String {
        materializeDueVirtualFunctions()
        return try files.read(path)
    }

    public func list(_ path: String) throws(SysfsError) -> [String] {
        materializeDueVirtualFunctions()
        return try files.list(path)
    }

    public func readLink(_ path: String) throws(SysfsError) -> String {
        materializeDueVirtualFunctions()
        return try files.readLink(path)
    }

    public func exists(_ path: String) -> Bool {
        materializeDueVirtualFunctions()
        return files.exists(path)
    }

    public func alternativeNames(ofInterface name: String) -> [String] {
        machine.pfs.first { $0.name == name }?.altNames ?? []
    }

    /// Carries out a write as the kernel would, or fails with its errno.
    public func write(_ path: String, _ value: String) throws(SysfsError) {
        materializeDueVirtualFunctions()
        try state.withLock { (s: inout State) throws(SysfsError) in
            s.log.append("\(path)=\(value == "\n" ? "" : value)")
            try perform(path, value, &s)
        }
    }

    // MARK: Test and demo controls

    /// Every write so far (`path=value`), in order.
    public var writeLog: [String] { state.withLock { $0.log } }

    /// The number of writes so far.
    public var writeCount: Int { state.withLock { $0.log.count } }

    /// Forgets the write log.
    public func resetWriteLog() { state.withLock { $0.log.removeAll() } }

    /// Adds a fault (seen by every instance on this tree).
    public func inject(_ fault: SimulatedFault) throws(SimulatedKernelError) {
        var faults = loadFaults()
        faults.append(fault)
        try saveFaults(faults)
    }

    /// Removes every injected fault.
    public func clearFaults() throws(SimulatedKernelError) { try saveFaults([]) }

    /// The faults in effect.
    public func faults() -> [SimulatedFault] { loadFaults() }

    /// The device disappears now (surprise removal): its VFs, netdevs and
    /// directory go.
    public func removeDevice(_ pci: String) {
        state.withLock { s in vanish(pci, &s) }
    }

    /// What a reboot does to SR-IOV: every PF's VFs are gone
    /// (`sriov_numvfs` 0); MTUs and link state go back to the defaults.
    public func reboot() {
        state.withLock { s in
            s.pending.removeAll()
            for pf in machine.pfs where files.exists(SysfsPath.device(pf.pciAddress)) {
                removeVirtualFunctions(pf)
                try? TreeFiles.writeFile(files.absolute(SysfsPath.device(pf.pciAddress, "sriov_numvfs")), "0\n")
                let net = SysfsPath.device(pf.pciAddress, "net/\(pf.name)")
                try? TreeFiles.writeFile(files.absolute("\(net)/mtu"), "1500\n")
                try? TreeFiles.writeFile(files.absolute("\(net)/flags"), "0x1002\n")
                try? TreeFiles.writeFile(files.absolute("\(net)/operstate"), "down\n")
            }
        }
    }
}
