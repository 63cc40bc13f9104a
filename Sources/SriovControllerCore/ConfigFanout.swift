import SriovProto
import SriovSync

/// Pushes each node's config to that node's one live `WatchConfig` stream.
///
/// Each stream has a latest-only slot: a new generation replaces one the
/// stream has not sent yet, so a slow agent holds at most one pending config
/// and never delays the others. A node has one live stream: a new one
/// supersedes the older, which then ends.
public final class ConfigFanout: Sendable {
    /// A config with the time its spec changed, for the push-latency metric.
    public struct Offer: Sendable {
        public var config: SriovV1.NodeConfig
        public var changedAt: ContinuousClock.Instant

        public init(config: SriovV1.NodeConfig, changedAt: ContinuousClock.Instant) {
            self.config = config
            self.changedAt = changedAt
        }
    }

    /// One stream's mailbox.
    public final class Subscription: Sendable {
        public let node: String
        let id: Int
        private let state = Locked<SlotState>(SlotState())

        struct SlotState {
            var pending: Offer?
            var sentGeneration: Int64 = -1
            var waiter: CheckedContinuation<Offer?, Never>?
            var ended: EndReason?
        }

        /// Why a stream ended.
        public enum EndReason: Sendable, Hashable {
            case superseded
            case shutdown
        }

        init(node: String, id: Int) {
            self.node = node
            self.id = id
        }

        /// Offers a config; ignored when this stream already sent or holds a
        /// newer generation.
        func offer(_ offer: Offer) {
            let waiter = state.withLock { s -> CheckedContinuation<Offer?, Never>? in
                if s.ended != nil { return nil }
                if offer.config.generation <= s.sentGeneration { return nil }
                if let p = s.pending, p.config.generation >= offer.config.generation { return nil }
                if let w = s.waiter {
                    s.waiter = nil
                    s.sentGeneration = offer.config.generation
                    return w
                }
                s.pending = offer
                return nil
            }
            waiter?.resume(returning: offer)
        }

        /// Ends the stream.
        func end(_ reason: EndReason) {
            let waiter = state.withLock { s -> CheckedContinuation<Offer?, Never>? in
                if s.ended == nil { s.ended = reason }
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }

        /// Why the stream ended, once it has.
        public var endReason: EndReason? { state.withLock { $0.ended } }

        /// The next config to send; nil once the stream ended.
        public func next() async -> Offer? {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Offer?, Never>) in
                    let ready = state.withLock { s -> Offer?? in
                        if s.ended != nil { return .some(nil) }
                        if let p = s.pending {
                            s.pending = nil
                            s.sentGeneration = p.config.generation
                            return .some(p)
                        }
                        s.waiter = c
                        return nil
                    }
                    if let ready { c.resume(returning: ready) }
                }
            } onCancel: {
                end(.shutdown)
            }
        }
    }

    private struct State {
        var streams: [String: Subscription] = [:]
        var nextID = 0
        var closed = false
    }

    private let state = Locked(State())

    public init() {}

    /// Registers a stream for `node`, superseding the node's previous one;
    /// `initial` is queued as its first message.
    public func subscribe(node: String, initial: Offer) -> Subscription {
        let (sub, old) = state.withLock { s -> (Subscription, Subscription?) in
            let sub = Subscription(node: node, id: s.nextID)
            s.nextID += 1
            let old = s.streams[node]
            s.streams[node] = sub
            if s.closed { sub.end(.shutdown) }
            return (sub, old)
        }
        old?.end(.superseded)
        sub.offer(initial)
        return sub
    }

    /// Removes a stream that ended (if it is still the node's live one).
    public func unsubscribe(_ sub: Subscription) {
        state.withLock { s in
            if s.streams[sub.node]?.id == sub.id { s.streams[sub.node] = nil }
        }
        sub.end(.shutdown)
    }

    /// Offers a node's new config to its live stream, if any.
    public func push(_ offer: Offer) {
        let sub = state.withLock { $0.streams[offer.config.nodeName] }
        sub?.offer(offer)
    }

    /// Whether `node` has a live stream.
    public func isConnected(node: String) -> Bool { state.withLock { $0.streams[node] != nil } }

    /// Number of nodes with a live stream.
    public var connectedNodes: Int { state.withLock { $0.streams.count } }

    /// Ends every stream (shutdown).
    public func closeAll() {
        let subs = state.withLock { s -> [Subscription] in
            s.closed = true
            defer { s.streams.removeAll() }
            return Array(s.streams.values)
        }
        for sub in subs { sub.end(.shutdown) }
    }
}
