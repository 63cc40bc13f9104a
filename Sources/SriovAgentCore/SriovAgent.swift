import Logging
import SriovGRPC
import SriovHost
import SriovProto
import Synchronization

/// The node agent: streams its inventory to the controller, watches its
/// config, applies each new generation to the host and reports the outcome.
///
/// Four tasks share a little state under a lock:
/// - the reconciler applies configs and rescans one at a time; it is the
///   only code that writes to the host;
/// - the config watch reconnects (waiting for the channel) and hands each
///   `NodeConfig` to the reconciler through a latest-only slot;
/// - the inventory stream sends a snapshot at start, on change and at every
///   rescan, and reopens when the watch reconnects;
/// - the reporter delivers status reports (latest-only: a final status
///   replaces an undelivered `InProgress`), retrying while the controller is
///   away, so a failure is always reported eventually.
///
/// With the controller gone the agent keeps the applied config, keeps
/// rescanning and reconnects; every wait is a sleep or a suspended call, so
/// an idle agent uses no CPU. Cancelling ``run()`` stops it without undoing
/// anything on the host.
public final class SriovAgent: Sendable {
    public let configuration: AgentConfiguration
    let channel: GRPCChannel
    let applier: HostApplier
    let logger: Logger

    struct State {
        var pendingConfig: SriovV1.NodeConfig?
        var rescanDue = false
        /// Generation and spec in effect (from the checkpoint or the last apply).
        var generation: Int64 = 0
        var spec = SriovV1.SriovNetworkNodeStateSpec()
        /// Generations reported final in this process.
        var reportedGeneration: Int64 = -1
        var inventory: [SriovV1.InterfaceExt] = []
        var inventoryVersion = 0
        /// Bumped when the config watch (re)connects: the inventory stream reopens.
        var connectionEpoch = 0
        var pendingReport: SriovV1.StatusReport?
        var counters = AgentCounters()
    }

    let state = Mutex(State())
    private let reconcileWake: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    private let inventoryWake: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    private let reportWake: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)

    public init(configuration: AgentConfiguration, channel: GRPCChannel, applier: HostApplier,
                logger: Logger = Logger(label: "sriov-agent")) {
        self.configuration = configuration
        self.channel = channel
        self.applier = applier
        var l = logger
        l[metadataKey: "sriov.node"] = "\(configuration.nodeName)"
        self.logger = l
        reconcileWake = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        inventoryWake = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        reportWake = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// What the agent did so far (tests and logs).
    public var counters: AgentCounters { state.withLock { $0.counters } }

    /// Runs until the task is cancelled.
    public func run() async {
        await recoverFromCheckpoint()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.reconcileLoop() }
            group.addTask { await self.watchLoop() }
            group.addTask { await self.inventoryLoop() }
            group.addTask { await self.reportLoop() }
            group.addTask { await self.rescanTimer() }
            await group.waitForAll()
        }
        reconcileWake.continuation.finish()
        inventoryWake.continuation.finish()
        reportWake.continuation.finish()
        logger.info("agent stopped; the host keeps its configuration")
    }

    // MARK: reconciler

    /// At start: re-apply the checkpointed spec when the host lost it (a
    /// reboot removes every VF), before the controller is even reachable.
    func recoverFromCheckpoint() async {
        guard let checkpoint = try? applier.store.load(), checkpoint.generation > 0 || !checkpoint.interfaces.isEmpty else {
            publishInventory(applier.discovery.interfaces())
            return
        }
        let spec = checkpoint.spec
        state.withLock {
            $0.generation = checkpoint.generation
            $0.spec = spec
        }
        if applier.needsApply(spec) {
            logger.notice("re-applying the checkpointed config", metadata: ["generation": "\(checkpoint.generation)"])
            await applyAndReport(spec, generation: checkpoint.generation)
        } else {
            publishInventory(applier.discovery.interfaces())
        }
    }

    func reconcileLoop() async {
        for await _ in reconcileWake.stream {
            while !Task.isCancelled {
                let (config, rescan) = state.withLock { s in
                    defer { s.pendingConfig = nil; s.rescanDue = false }
                    return (s.pendingConfig, s.rescanDue)
                }
                if let config {
                    await handle(config)
                } else if rescan {
                    await rescanHost()
                } else {
                    break
                }
            }
        }
    }

    func handle(_ config: SriovV1.NodeConfig) async {
        let (generation, spec, reported) = state.withLock { ($0.generation, $0.spec, $0.reportedGeneration) }
        if config.generation == generation && config.spec == spec && !applier.needsApply(spec) {
            // A reconnect resends the config in effect: nothing to re-apply.
            logger.debug("config unchanged", metadata: ["generation": "\(generation)"])
            if reported != generation {
                let interfaces = applier.discovery.interfaces()
                publishInventory(interfaces)
                report(generation: generation, status: SyncStatus.succeeded, error: "", interfaces: interfaces)
                state.withLock { $0.reportedGeneration = generation }
            }
            return
        }
        logger.info("applying config", metadata: ["generation": "\(config.generation)", "pfs": "\(config.spec.interfaces.count)"])
        await applyAndReport(config.spec, generation: config.generation)
    }

    func rescanHost() async {
        let (generation, spec) = state.withLock { ($0.generation, $0.spec) }
        state.withLock { $0.counters.rescans += 1 }
        if generation > 0 || !spec.interfaces.isEmpty, applier.needsApply(spec) {
            logger.notice("host drifted from the applied config; repairing", metadata: ["generation": "\(generation)"])
            state.withLock { $0.counters.driftRepairs += 1 }
            await applyAndReport(spec, generation: generation)
        } else {
            publishInventory(applier.discovery.interfaces())
        }
    }

    /// InProgress, apply, then Succeeded or Failed: a node is never left
    /// InProgress.
    func applyAndReport(_ spec: SriovV1.SriovNetworkNodeStateSpec, generation: Int64) async {
        report(generation: generation, status: SyncStatus.inProgress, error: "", interfaces: [])
        let start = ContinuousClock.now
        let result = await applier.apply(spec, generation: generation)
        let elapsed = ContinuousClock.now - start
        state.withLock {
            $0.generation = generation
            $0.spec = spec
            $0.reportedGeneration = generation
            $0.counters.applies += 1
            $0.counters.writes += result.writes
        }
        publishInventory(result.interfaces)
        if result.succeeded {
            logger.info("config applied", metadata: ["generation": "\(generation)", "writes": "\(result.writes)", "elapsed": "\(elapsed)"])
            report(generation: generation, status: SyncStatus.succeeded, error: "", interfaces: result.interfaces)
        } else {
            logger.error("config failed", metadata: ["generation": "\(generation)", "error": "\(result.errorMessage)"])
            report(generation: generation, status: SyncStatus.failed, error: result.errorMessage, interfaces: result.interfaces)
        }
    }

    func rescanTimer() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.rescanInterval)
            } catch {
                return
            }
            state.withLock { $0.rescanDue = true }
            reconcileWake.continuation.yield()
        }
    }

    // MARK: config watch

    func watchLoop() async {
        var failures = 0
        while !Task.isCancelled {
            let known = state.withLock { $0.generation }
            var request = SriovV1.WatchConfigRequest()
            request.nodeName = configuration.nodeName
            request.knownGeneration = known
            do {
                try await channel.serverStreaming(SriovV1.Agent.watchConfig, request, waitForReady: true) { stream in
                    var first = true
                    for try await config in stream {
                        if first {
                            first = false
                            failures = 0
                            self.logger.info("watching config", metadata: ["generation": "\(config.generation)"])
                            self.state.withLock {
                                $0.connectionEpoch += 1
                                $0.counters.configStreams += 1
                            }
                            self.inventoryWake.continuation.yield()
                        }
                        self.state.withLock {
                            $0.pendingConfig = config
                            $0.counters.configsReceived += 1
                        }
                        self.reconcileWake.continuation.yield()
                    }
                }
                logger.info("config watch ended by the controller")
            } catch {
                if Task.isCancelled { return }
                logger.warning("config watch failed", metadata: ["error": "\(error)"])
            }
            failures += 1
            guard await pause(failures) else { return }
        }
    }

    // MARK: inventory

    func publishInventory(_ interfaces: [SriovV1.InterfaceExt]) {
        state.withLock {
            $0.inventory = interfaces
            $0.inventoryVersion += 1
        }
        inventoryWake.continuation.yield()
    }

    struct Reopen: Error {}

    func inventoryLoop() async {
        var failures = 0
        var iterator = inventoryWake.stream.makeAsyncIterator()
        while !Task.isCancelled {
            let epoch = state.withLock { $0.connectionEpoch }
            do {
                _ = try await channel.clientStreaming(SriovV1.Agent.streamInventory, waitForReady: true) { writer in
                    var sequence: Int64 = 0
                    var sentVersion = -1
                    while !Task.isCancelled {
                        let (interfaces, version, currentEpoch) = self.state.withLock { ($0.inventory, $0.inventoryVersion, $0.connectionEpoch) }
                        if currentEpoch != epoch { throw Reopen() }
                        if version != sentVersion {
                            sequence += 1
                            var report = SriovV1.InventoryReport()
                            report.nodeName = self.configuration.nodeName
                            report.labels = self.configuration.labels
                            report.interfaces = interfaces
                            report.sequence = sequence
                            try await writer.write(report)
                            sentVersion = version
                            failures = 0
                            self.state.withLock { $0.counters.inventoriesSent += 1 }
                        }
                        guard await iterator.next() != nil else { return }
                    }
                }
            } catch is Reopen {
                continue
            } catch {
                if Task.isCancelled { return }
                logger.warning("inventory stream failed", metadata: ["error": "\(error)"])
            }
            failures += 1
            guard await pause(failures) else { return }
        }
    }

    // MARK: status reports

    func report(generation: Int64, status: String, error: String, interfaces: [SriovV1.InterfaceExt]) {
        var r = SriovV1.StatusReport()
        r.nodeName = configuration.nodeName
        r.generation = generation
        r.syncStatus = status
        r.lastSyncError = error
        r.interfaces = interfaces
        state.withLock { $0.pendingReport = r }
        reportWake.continuation.yield()
    }

    func reportLoop() async {
        var failures = 0
        for await _ in reportWake.stream {
            while let report = state.withLock({ $0.pendingReport }) {
                do {
                    _ = try await channel.unary(SriovV1.Agent.reportStatus, report, timeout: configuration.reportTimeout, waitForReady: true)
                    failures = 0
                    state.withLock {
                        if $0.pendingReport == report { $0.pendingReport = nil }
                        $0.counters.reportsSent += 1
                    }
                    logger.debug("status reported", metadata: ["generation": "\(report.generation)", "status": "\(report.syncStatus)"])
                } catch {
                    if Task.isCancelled { return }
                    failures += 1
                    logger.warning("status report failed; retrying", metadata: ["generation": "\(report.generation)", "error": "\(error)"])
                    guard await pause(failures) else { return }
                }
            }
        }
    }

    /// Sleeps `retryDelay × 2^(failures-1)`, capped; false when cancelled.
    func pause(_ failures: Int) async -> Bool {
        var delay = configuration.retryDelay
        for _ in 1..<max(1, min(failures, 16)) where delay < configuration.maxRetryDelay { delay = delay * 2 }
        delay = min(delay, configuration.maxRetryDelay)
        do {
            try await Task.sleep(for: delay)
            return true
        } catch {
            return false
        }
    }
}

/// Counts of what an agent did.
public struct AgentCounters: Sendable, Hashable {
    public var applies = 0
    public var writes = 0
    public var rescans = 0
    public var driftRepairs = 0
    public var configStreams = 0
    public var configsReceived = 0
    public var inventoriesSent = 0
    public var reportsSent = 0
}
