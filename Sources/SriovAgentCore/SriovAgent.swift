import Logging
import SriovGRPC
import SriovHost
import SriovProto
import SriovSync

/// The node agent: streams its inventory to the controller, watches its
/// config, applies each new generation to the host and reports the outcome.
///
/// Four tasks share a little state under a lock:
/// - the reconciler applies configs and rescans one at a time; it is the
///   only code that writes to the host;
/// - the config watch reconnects (waiting for the channel) and hands each
///   `NodeConfig` to the reconciler through a latest-only slot;
/// - the inventory stream follows the config watch: it is open while the
///   watch is, sends a snapshot when it opens, on change and at every
///   rescan, and is half-closed when the watch ends (so a controller that
///   shuts down is not kept waiting for it) or reconnects;
/// - the reporter delivers status reports in order (``StatusReportQueue``:
///   a generation's `InProgress` always before its final status, redundant
///   undelivered reports dropped), retrying while the controller is away, so
///   a failure is always reported eventually.
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
        /// Bumped when the config watch connects or ends: the inventory
        /// stream closes, and opens again while ``watchLive``.
        var connectionEpoch = 0
        /// Whether the config watch has an answer from the controller now.
        var watchLive = false
        var reports = StatusReportQueue()
        var counters = AgentCounters()
    }

    let state = Locked(State())
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
        if config.generation <= 0 {
            // The controller holds no state for this node yet (it answers a
            // node it has never heard of with generation 0 and an empty
            // spec): nothing to apply or report, and above all no reason to
            // undo what the checkpoint holds. The config rendered from this
            // agent's inventory follows.
            logger.debug("controller has no config for this node yet")
            state.withLock { $0.counters.configsUnchanged += 1 }
            return
        }
        let (generation, spec, reported) = state.withLock { ($0.generation, $0.spec, $0.reportedGeneration) }
        if config.generation == generation && config.spec == spec && !applier.needsApply(spec) {
            // A reconnect resends the config in effect: nothing to re-apply.
            logger.debug("config unchanged", metadata: ["generation": "\(generation)"])
            state.withLock { $0.counters.configsUnchanged += 1 }
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
                                $0.watchLive = true
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
            // The inventory stream goes with the watch: a controller shutting
            // down ends the watch first and must not wait for the other.
            state.withLock {
                if $0.watchLive { $0.connectionEpoch += 1 }
                $0.watchLive = false
            }
            inventoryWake.continuation.yield()
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

    /// Keeps a StreamInventory call open while the config watch is live,
    /// sending each new snapshot; half-closes it when the watch ends or
    /// reconnects and opens the next one once the watch is live again, so
    /// the inventory always reaches the controller the watch talks to.
    func inventoryLoop() async {
        var failures = 0
        var iterator = inventoryWake.stream.makeAsyncIterator()
        while !Task.isCancelled {
            let (epoch, live) = state.withLock { ($0.connectionEpoch, $0.watchLive) }
            guard live else {
                guard await iterator.next() != nil else { return }
                continue
            }
            var stopped = false
            do {
                _ = try await channel.clientStreaming(SriovV1.Agent.streamInventory, waitForReady: true) { writer in
                    var sequence: Int64 = 0
                    var sentVersion = -1
                    while !Task.isCancelled {
                        let (interfaces, version, currentEpoch) = self.state.withLock { ($0.inventory, $0.inventoryVersion, $0.connectionEpoch) }
                        // The watch ended or reconnected: half-close this stream.
                        if currentEpoch != epoch { return }
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
                        guard await iterator.next() != nil else {
                            stopped = true
                            return
                        }
                    }
                }
                if stopped || Task.isCancelled { return }
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
        state.withLock { $0.reports.enqueue(r) }
        reportWake.continuation.yield()
    }

    /// Delivers the queued reports oldest first; one the controller refuses
    /// for good is dropped (and logged) so it cannot hold back the rest.
    func reportLoop() async {
        var failures = 0
        for await _ in reportWake.stream {
            while let entry = state.withLock({ $0.reports.head }) {
                let report = entry.report
                do {
                    _ = try await channel.unary(SriovV1.Agent.reportStatus, report, timeout: configuration.reportTimeout, waitForReady: true)
                    failures = 0
                    state.withLock {
                        $0.reports.remove(id: entry.id)
                        $0.counters.reportsSent += 1
                    }
                    logger.debug("status reported", metadata: ["generation": "\(report.generation)", "status": "\(report.syncStatus)"])
                } catch let error as RPCError where StatusReportQueue.isPermanent(error.code) {
                    failures = 0
                    state.withLock {
                        $0.reports.remove(id: entry.id)
                        $0.counters.reportsRefused += 1
                    }
                    logger.error("status report refused; dropped", metadata: [
                        "generation": "\(report.generation)", "status": "\(report.syncStatus)", "error": "\(error)",
                    ])
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
    /// Configs that needed no apply: the one in effect resent after a
    /// reconnect, or generation 0 (the controller knows nothing of the node).
    public var configsUnchanged = 0
    public var inventoriesSent = 0
    public var reportsSent = 0
    /// Reports the controller refused for good (dropped, not retried).
    public var reportsRefused = 0
}
