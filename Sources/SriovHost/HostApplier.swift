import Logging
import SriovProto
import Synchronization

/// The outcome of applying a node spec.
public struct ApplyResult: Sendable {
    /// One entry per PF that failed (the others were applied).
    public var failures: [HostError] = []
    /// The PFs as discovered after applying.
    public var interfaces: [SriovV1.InterfaceExt] = []
    /// Sysfs writes done.
    public var writes = 0

    public init() {}

    public var succeeded: Bool { failures.isEmpty }
    /// All failures, `; `-separated: the status report's lastSyncError.
    public var errorMessage: String { failures.map(\.description).joined(separator: "; ") }
}

/// Applies node specs to the host: discovery → diff → a pure plan of sysfs
/// writes (``HostPlanner``) → apply → checkpoint → rediscover.
///
/// PF by PF: a PF that fails is put back in a safe state (no VFs, its
/// original MTU) and the others are still applied. Before the first write to
/// a PF its original state goes into the checkpoint; a PF that leaves the
/// spec is reset to it. Applying the same spec twice writes nothing the
/// second time.
public final class HostApplier: Sendable {
    /// Bounds of one apply.
    public struct Configuration: Sendable {
        /// How long to wait for the kernel to create (or remove) VFs after a
        /// `sriov_numvfs` write. The kernel creates them synchronously on
        /// most drivers; 30 s covers slow firmware (upstream waits up to 120 s).
        public var vfTimeout: Duration = .seconds(30)
        /// How often the `virtfn` links are checked while waiting.
        public var pollInterval: Duration = .milliseconds(20)
        /// Plan/apply/rediscover rounds per PF: VF creation, driver binding
        /// and VF MTU need three; one more for a slow netdev.
        public var maxRounds = 4

        public static var defaults: Self { Self() }
        public init() {}
    }

    public let sysfs: any Sysfs
    public let store: CheckpointStore
    public let configuration: Configuration
    let logger: Logger
    /// Writes since creation (tests and benchmarks read it).
    private let writeCounter = Atomic<Int>(0)

    public init(sysfs: any Sysfs, store: CheckpointStore, configuration: Configuration = .defaults,
                logger: Logger = Logger(label: "sriov.host.apply")) {
        self.sysfs = sysfs
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    public var discovery: Discovery { Discovery(sysfs: sysfs, logger: logger) }

    /// Total sysfs writes this applier has done.
    public var totalWrites: Int { writeCounter.load(ordering: .relaxed) }

    /// Applies `spec` (config `generation`) and checkpoints it.
    public func apply(_ spec: SriovV1.SriovNetworkNodeStateSpec, generation: Int64) async -> ApplyResult {
        var result = ApplyResult()
        let before = totalWrites
        var checkpoint: HostCheckpoint
        do {
            checkpoint = try store.load()
        } catch {
            result.failures.append(error)
            result.interfaces = discovery.interfaces()
            return result
        }
        var observed = Dictionary(discovery.interfaces().map { ($0.pciAddress, $0) }, uniquingKeysWith: { a, _ in a })
        var wanted = Set<String>()

        for desired in spec.interfaces {
            let pci = desired.pciAddress
            guard wanted.insert(pci).inserted else {
                result.failures.append(HostError(.invalidSpec, pciAddress: pci, "listed twice in the spec"))
                continue
            }
            if desired.externallyManaged {
                // Managed outside the operator from now on: never written, never reset.
                checkpoint.originals[pci] = nil
                do throws(HostError) {
                    try HostPlanner.check(externallyManaged: desired, observed: observed[pci])
                } catch {
                    result.failures.append(error)
                }
                continue
            }
            // Remember the PF as it was before the first write to it.
            if checkpoint.originals[pci] == nil, let pf = observed[pci] {
                checkpoint.originals[pci] = .init(name: pf.name, numVfs: pf.numVfs, mtu: pf.mtu)
                do {
                    try store.save(checkpoint)
                } catch {
                    result.failures.append(HostError(.checkpoint, pciAddress: pci, "not configured: \(error.message)"))
                    continue
                }
            }
            do throws(HostError) {
                observed[pci] = try await converge(desired, observed: observed[pci])
            } catch {
                var failure = error
                if let original = checkpoint.originals[pci], let pf = discovery.interfaceByAddress(pci) {
                    do throws(HostError) {
                        try await run(HostPlanner.reset(pf, to: original), pf: pf)
                        failure.message += "; the PF was reset to 0 VFs and MTU \(original.mtu)"
                    } catch let resetError {
                        failure.message += "; resetting it to a safe state failed too: \(resetError.message)"
                    }
                }
                logger.warning("PF not applied", metadata: ["pci": "\(pci)", "error": "\(failure.message)"])
                result.failures.append(failure)
            }
        }

        // PFs that left the spec go back to how they were; PFs never
        // configured by the agent are not in `originals` and stay untouched.
        for (pci, original) in checkpoint.originals.sorted(by: { $0.key < $1.key }) where !wanted.contains(pci) {
            guard let pf = observed[pci] ?? discovery.interfaceByAddress(pci) else {
                logger.warning("PF to reset is gone; keeping its original state for later", metadata: ["pci": "\(pci)"])
                continue
            }
            do throws(HostError) {
                try await run(HostPlanner.reset(pf, to: original), pf: pf)
                checkpoint.originals[pci] = nil
                logger.info("PF reset", metadata: ["pci": "\(pci)", "mtu": "\(original.mtu)"])
            } catch {
                result.failures.append(HostError(error.code, pciAddress: pci, "resetting the PF that left the spec: \(error.message)", cause: error.cause))
            }
        }

        checkpoint.generation = generation
        checkpoint.interfaces = spec.interfaces.map(CheckpointInterface.init)
        do {
            try store.save(checkpoint)
        } catch {
            result.failures.append(error)
        }
        result.interfaces = discovery.interfaces()
        result.writes = totalWrites - before
        return result
    }

    /// Whether the host differs from `spec` in a way apply would change:
    /// drift (someone wrote to sysfs behind the agent's back), VFs gone
    /// after a reboot, or a PF left the spec and still waits for its reset.
    /// Specs that cannot be applied (bad ranges, too many VFs) are no drift:
    /// re-applying them would change nothing.
    public func needsApply(_ spec: SriovV1.SriovNetworkNodeStateSpec) -> Bool {
        let observed = Dictionary(discovery.interfaces().map { ($0.pciAddress, $0) }, uniquingKeysWith: { a, _ in a })
        for desired in spec.interfaces where !desired.externallyManaged {
            if let plan = try? HostPlanner.plan(desired, observed: observed[desired.pciAddress]), !plan.isEmpty {
                return true
            }
        }
        if let checkpoint = try? store.load() {
            let wanted = Set(spec.interfaces.map(\.pciAddress))
            for (pci, original) in checkpoint.originals where !wanted.contains(pci) {
                if let pf = observed[pci], !HostPlanner.reset(pf, to: original).isEmpty { return true }
            }
        }
        return false
    }

    /// Plans and runs rounds until a round is empty.
    func converge(_ desired: SriovV1.Interface, observed: SriovV1.InterfaceExt?) async throws(HostError) -> SriovV1.InterfaceExt? {
        var current = observed
        for _ in 0..<configuration.maxRounds {
            let plan = try HostPlanner.plan(desired, observed: current)
            if plan.isEmpty { return current }
            guard let pf = current else { return nil }
            try await run(plan, pf: pf)
            current = discovery.interfaceByAddress(desired.pciAddress)
            if current == nil {
                throw HostError(.notFound, pciAddress: desired.pciAddress, "the PF vanished while being configured")
            }
            if plan.isFinal { return current }
        }
        let left = (try? HostPlanner.plan(desired, observed: current))?.steps.map(\.description).joined(separator: ", ") ?? "?"
        throw HostError(.notConverged, pciAddress: desired.pciAddress, "not configured after \(configuration.maxRounds) rounds; still to do: \(left)")
    }

    /// Runs a plan's steps in order; the first failure stops it.
    func run(_ plan: PFPlan, pf: SriovV1.InterfaceExt) async throws(HostError) {
        for step in plan.steps {
            switch step {
            case .write(let path, let value):
                logger.debug("sysfs write", metadata: ["path": "\(path)", "value": "\(value == DeviceType.clearOverride ? "" : value)"])
                writeCounter.add(1, ordering: .relaxed)
                do {
                    try sysfs.write(path, value)
                } catch {
                    throw HostError(pciAddress: plan.pciAddress, error, context: Self.subject(of: path, value: value, pf: pf))
                }
            case .awaitVirtualFunctions(let pci, let count):
                try await awaitVirtualFunctions(pci, count: count)
            }
        }
    }

    /// Waits until the PF has exactly `count` `virtfn` links.
    func awaitVirtualFunctions(_ pci: String, count: Int32) async throws(HostError) {
        let deadline = ContinuousClock.now + configuration.vfTimeout
        var seen = 0
        while true {
            guard let names = try? sysfs.list(SysfsPath.device(pci)) else {
                throw HostError(.notFound, pciAddress: pci, "the PF vanished while its VFs were created")
            }
            seen = names.reduce(0) { $0 + ($1.hasPrefix("virtfn") ? 1 : 0) }
            if seen == Int(count) { return }
            if ContinuousClock.now >= deadline { break }
            do {
                try await Task.sleep(for: configuration.pollInterval)
            } catch {
                throw HostError(.notConverged, pciAddress: pci, "cancelled while waiting for \(count) VFs")
            }
        }
        throw HostError(.notConverged, pciAddress: pci,
                        "\(seen) of \(count) VFs appeared within \(configuration.vfTimeout) after writing sriov_numvfs")
    }

    /// "VF 0000:19:00.3" or "VF ens1f0v3" for writes that concern a VF.
    static func subject(of path: String, value: String, pf: SriovV1.InterfaceExt) -> String? {
        if path.hasPrefix("sys/bus/pci/drivers") || path == SysfsPath.driversProbe { return "VF \(value)" }
        let parts = path.split(separator: "/")
        if path.hasPrefix(SysfsPath.pciDevices), parts.count > 4, parts[4] != pf.pciAddress { return "VF \(parts[4])" }
        if path.hasPrefix("sys/class/net/"), parts.count > 3, parts[3] != pf.name { return "VF \(parts[3])" }
        return nil
    }
}

extension Discovery {
    /// One PF by address, nil when it is gone or not a PF.
    public func interfaceByAddress(_ pci: String) -> SriovV1.InterfaceExt? {
        guard sysfs.exists(SysfsPath.device(pci, "sriov_totalvfs")) else { return nil }
        return try? physicalFunction(pci)
    }
}
