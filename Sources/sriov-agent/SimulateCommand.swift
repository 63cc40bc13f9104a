import ArgumentParser
import Glibc
import SriovHost
import SriovSimKernel

/// Builds a simulated node's sysfs tree, or changes one: faults, reboot,
/// surprise removal, drift.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Create or change a simulated node's sysfs tree for the demo and tests.",
        discussion: """
            With --nics, builds a fresh tree (replacing one at --sysfs-root). The other options change an
            existing tree; an agent running on it sees the change at its next write or rescan.
            Models: \(NICModel.all.map { "\($0.key) (\($0.vendor):\($0.pfDevice), \($0.totalVfs) VFs per port)" }.joined(separator: ", ")).
            """)

    @Option(help: "The tree's root directory.")
    var sysfsRoot: String
    @Option(help: "Cards to build, MODEL[:COUNT],... e.g. xl710:2,cx5:1.")
    var nics: String?
    @Option(help: "Make writes to paths ending in SUFFIX fail: SUFFIX=ERRNO[:TIMES], e.g. 0000:18:00.0/sriov_numvfs=EBUSY:1. Repeatable.")
    var failWrite: [String] = []
    @Option(help: "VFs of a PF appear late: PCI=MILLISECONDS. Repeatable.")
    var lateVfs: [String] = []
    @Option(help: "Remove a device now (surprise removal). Repeatable.")
    var vanish: [String] = []
    @Option(help: "Write ATTRIBUTE-PATH=VALUE through the simulated kernel, as an admin would behind the agent's back. Repeatable.")
    var set: [String] = []
    @Flag(help: "Remove every injected fault.")
    var clearFaults = false
    @Flag(help: "Simulate a reboot: every VF is gone, MTUs and link state are back to their defaults.")
    var reboot = false

    static let errnos: [String: Int32] = [
        "EBUSY": EBUSY, "EINVAL": EINVAL, "ENODEV": ENODEV, "EIO": EIO, "ENOMEM": ENOMEM, "EPERM": EPERM, "EACCES": EACCES, "ENOSPC": ENOSPC,
    ]

    func run() throws {
        do {
            try perform()
        } catch {
            printError("sriov-agent simulate: \(error.message)")
            throw ExitCode(2)
        }
    }

    func perform() throws(SimulatedKernelError) {
        let kernel: SimulatedKernel
        if let nics {
            kernel = try SimulatedKernel.create(root: sysfsRoot, inventory: try NICInventory(parsing: nics))
            for pf in kernel.machine.pfs {
                print("\(pf.pciAddress) \(pf.name) \(pf.model.key) \(pf.model.vendor):\(pf.model.pfDevice) totalvfs=\(pf.model.totalVfs) driver=\(pf.model.pfDriver)")
            }
        } else {
            kernel = try SimulatedKernel(root: sysfsRoot)
        }
        if clearFaults { try kernel.clearFaults() }
        for item in failWrite {
            let (suffix, rest) = try split(item, "--fail-write")
            let parts = rest.split(separator: ":")
            guard let name = parts.first, let code = Self.errnos[String(name).uppercased()] else {
                throw SimulatedKernelError("--fail-write \(item): the errno must be one of \(Self.errnos.keys.sorted().joined(separator: ", "))")
            }
            var times: Int?
            if parts.count == 2 {
                guard let t = Int(parts[1]), t >= 1 else { throw SimulatedKernelError("--fail-write \(item): TIMES must be a whole number from 1") }
                times = t
            }
            try kernel.inject(.failWrite(pathSuffix: suffix, errno: code, times: times))
        }
        for item in lateVfs {
            let (pci, ms) = try split(item, "--late-vfs")
            guard let delay = Int(ms), delay >= 0 else { throw SimulatedKernelError("--late-vfs \(item): MILLISECONDS must be a whole number") }
            try kernel.inject(.lateVirtualFunctions(pciAddress: pci, delayMilliseconds: delay))
        }
        for pci in vanish { kernel.removeDevice(pci) }
        if reboot { kernel.reboot() }
        for item in set {
            let (path, value) = try split(item, "--set")
            do {
                try kernel.write(path, value)
            } catch {
                throw SimulatedKernelError("--set \(item): \(error)")
            }
        }
    }

    func split(_ item: String, _ option: String) throws(SimulatedKernelError) -> (String, String) {
        guard let eq = item.lastIndex(of: "=") else { throw SimulatedKernelError("\(option) \(item) is not KEY=VALUE") }
        return (String(item[..<eq]), String(item[item.index(after: eq)...]))
    }
}
