import Foundation
import Logging
import SriovAPI
import SriovGRPC
import SriovProto
import SriovSync

/// The cluster mirror: follows the controller's node states and rendered
/// objects (WatchNodeStates, WatchRendered, as a viewer) and keeps the
/// Kubernetes cluster in step with server-side apply.
///
/// Four loops run until cancelled:
/// - two controller watches, resumed by resource version after a broken
///   stream and re-read in full after OUT_OF_RANGE;
/// - the writer, which sends what `MirrorState` says differs, a few at a
///   time, retrying failures with backoff (and the server's Retry-After);
/// - the cluster reconciler, which lists what carries the mirror's label
///   (after the controller's first snapshots), deletes what is no longer
///   wanted, watches the node states with bookmarks to repair drift, and
///   lists again after 410 Gone, a broken watch or `resyncInterval`.
///
/// The controller never waits for the mirror: it only serves watches.
public final class ClusterMirror: Sendable {
    public let configuration: MirrorConfiguration
    let controller: GRPCChannel
    let kube: KubeClient
    let logger: Logger
    let state: Locked<MirrorState>
    /// Wakes the writer when something became dirty.
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>
    /// Keys being written now (the reconciler ignores their watch events).
    let inFlight = Locked<Set<MirrorKey>>([])
    /// Per key: failures in a row and when it may be retried.
    private let retries = Locked<[MirrorKey: (failures: Int, notBefore: ContinuousClock.Instant)]>([:])
    /// Counters for tests and benchmarks.
    let stats = Locked(Stats())

    /// What the mirror did so far.
    public struct Stats: Sendable {
        /// Successful writes (applies and deletions).
        public var writes = 0
        /// Failed requests, retried later.
        public var failures = 0
        /// Listings of the cluster (initial, after 410, broken watches, resync).
        public var clusterListings = 0
        /// Full re-reads of a controller stream (first connect, OUT_OF_RANGE).
        public var controllerSnapshots = 0
    }

    public init(configuration: MirrorConfiguration, controller: GRPCChannel, kube: KubeClient, logger: Logger) {
        self.configuration = configuration
        self.controller = controller
        self.kube = kube
        self.logger = logger
        self.state = Locked(MirrorState(configuration: configuration))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public var currentStats: Stats { stats.withLock { $0 } }

    /// Runs until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.followNodeStates() }
            group.addTask { await self.followRendered() }
            group.addTask { await self.writeLoop() }
            group.addTask { await self.reconcileCluster() }
            if configuration.syncDesiredState {
                let sync = DesiredStateSync(mirror: self)
                group.addTask { await sync.run() }
            }
            await group.waitForAll()
        }
    }

    func update(_ body: (inout MirrorState) -> Void) {
        state.withLock { body(&$0) }
        wake.yield()
    }

    // MARK: controller streams

    func followNodeStates() async {
        var resume = ""
        var backoff = Backoff(configuration)
        while !Task.isCancelled {
            var request = SriovV1.WatchRequest()
            request.resumeFromResourceVersion = resume
            var snapshot: [SriovV1.SriovNetworkNodeState]? = resume.isEmpty ? [] : nil
            do {
                try await controller.serverStreaming(SriovV1.Operator.watchNodeStates, request, waitForReady: true) { stream in
                    for try await event in stream {
                        backoff.reset()
                        switch event.type {
                        case .bookmark:
                            if let s = snapshot {
                                update { $0.replaceNodeStates(s) }
                                stats.withLock { $0.controllerSnapshots += 1 }
                                snapshot = nil
                            }
                            resume = event.resourceVersion
                        case .added, .modified:
                            if snapshot != nil {
                                snapshot!.append(event.nodeState)
                            } else {
                                update { $0.upsert(event.nodeState) }
                                resume = event.resourceVersion
                            }
                        case .deleted:
                            if snapshot == nil {
                                update { $0.removeNodeState(event.nodeState.metadata.name) }
                                resume = event.resourceVersion
                            }
                        default:
                            break
                        }
                    }
                }
            } catch let error as RPCError where error.code == .outOfRange {
                logger.notice("node-state watch too far behind; reading all again", metadata: ["error": "\(error.message)"])
                resume = ""
                continue
            } catch {
                if Task.isCancelled { return }
                logger.warning("node-state watch failed", metadata: ["error": "\(error)"])
            }
            if snapshot != nil { resume = "" }
            try? await Task.sleep(for: backoff.next())
        }
    }

    func followRendered() async {
        var resume = ""
        var backoff = Backoff(configuration)
        while !Task.isCancelled {
            var request = SriovV1.WatchRequest()
            request.resumeFromResourceVersion = resume
            var snapshot: [SriovV1.RenderedObject]? = resume.isEmpty ? [] : nil
            do {
                try await controller.serverStreaming(SriovV1.Operator.watchRendered, request, waitForReady: true) { stream in
                    for try await event in stream {
                        backoff.reset()
                        switch event.type {
                        case .bookmark:
                            if let s = snapshot {
                                update { $0.replaceRendered(s) }
                                stats.withLock { $0.controllerSnapshots += 1 }
                                snapshot = nil
                            }
                            resume = event.resourceVersion
                        case .added, .modified:
                            if snapshot != nil {
                                snapshot!.append(event.object)
                            } else {
                                update { $0.upsert(event.object) }
                                resume = event.resourceVersion
                            }
                        case .deleted:
                            if snapshot == nil {
                                update { $0.remove(event.object) }
                                resume = event.resourceVersion
                            }
                        default:
                            break
                        }
                    }
                }
            } catch let error as RPCError where error.code == .outOfRange {
                logger.notice("rendered watch too far behind; reading all again", metadata: ["error": "\(error.message)"])
                resume = ""
                continue
            } catch {
                if Task.isCancelled { return }
                logger.warning("rendered watch failed", metadata: ["error": "\(error)"])
            }
            if snapshot != nil { resume = "" }
            try? await Task.sleep(for: backoff.next())
        }
    }

    // MARK: writer

    func writeLoop() async {
        var wakeIterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let (keys, nextRetry) = takeDue(now: now)
            if keys.isEmpty {
                // Sleep until woken; while retries wait, look again at least
                // every 100 ms (a wake-up meanwhile stays buffered).
                if let nextRetry {
                    try? await Task.sleep(for: min(nextRetry - now, .milliseconds(100)))
                } else {
                    guard await wakeIterator.next() != nil else { return }
                }
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                for key in keys {
                    group.addTask { await self.sync(key) }
                }
            }
        }
    }

    /// Dirty keys whose retry time has come (up to `concurrentWrites`), and
    /// the earliest retry time of those that must wait.
    private func takeDue(now: ContinuousClock.Instant) -> ([MirrorKey], ContinuousClock.Instant?) {
        let waiting = retries.withLock { $0 }
        return state.withLock { s in
            var due: [MirrorKey] = []
            var next: ContinuousClock.Instant?
            for key in s.dirty {
                if let r = waiting[key], r.notBefore > now {
                    next = min(next ?? r.notBefore, r.notBefore)
                    continue
                }
                due.append(key)
                if due.count == configuration.concurrentWrites { break }
            }
            for key in due { s.takeDirtyKey(key) }
            return (due, next)
        }
    }

    /// Brings one object in step; on failure marks it dirty with a backoff.
    func sync(_ key: MirrorKey) async {
        inFlight.withLock { _ = $0.insert(key) }
        defer { inFlight.withLock { _ = $0.remove(key) } }
        let writes = state.withLock { $0.writes(for: key) }
        for write in writes {
            do {
                let rv = try await send(write)
                state.withLock { $0.written(write, resourceVersion: rv) }
                stats.withLock { $0.writes += 1 }
                retries.withLock { $0[key] = nil }
            } catch {
                stats.withLock { $0.failures += 1 }
                let failures = retries.withLock { ($0[key]?.failures ?? 0) + 1 }
                var delay = Backoff.delay(configuration, failures: failures)
                if let retryAfter = error.retryAfter, retryAfter > delay { delay = retryAfter }
                retries.withLock { $0[key] = (failures, ContinuousClock.now + delay) }
                logger.warning(
                    "write failed; retrying",
                    metadata: ["object": "\(key)", "error": "\(error)", "retry.in": "\(delay)"])
                update { $0.markDirty(key) }
                return
            }
        }
    }

    /// Sends one write; returns the object's new resourceVersion.
    func send(_ write: KubeWrite) async throws(KubeError) -> String {
        switch write.part {
        case .delete:
            let response = try await kube.send("DELETE", write.path)
            guard (200..<300).contains(response.status) || response.status == 404 else {
                throw KubeClient.error(response, "DELETE", write.path)
            }
            return ""
        case .object, .status:
            let result = try await kube.json(
                "PATCH", write.path,
                query: [("fieldManager", configuration.fieldManager), ("force", "true")],
                contentType: "application/apply-patch+yaml", body: write.body)
            return result["metadata"]?["resourceVersion"]?.stringValue ?? ""
        }
    }
}

/// Exponential backoff from `initialBackoff` to `maxBackoff`, with jitter.
struct Backoff {
    let configuration: MirrorConfiguration
    var failures = 0

    init(_ configuration: MirrorConfiguration) { self.configuration = configuration }

    mutating func reset() { failures = 0 }

    mutating func next() -> Duration {
        failures += 1
        return Self.delay(configuration, failures: failures)
    }

    static func delay(_ c: MirrorConfiguration, failures: Int) -> Duration {
        let factor = 1 << min(max(failures - 1, 0), 16)
        let base = min(c.initialBackoff * factor, c.maxBackoff)
        // ±20 % so that many mirrors (or keys) do not retry in lockstep.
        return base * Double.random(in: 0.8...1.2)
    }
}
