import Synchronization

/// Per-method call counts by status code and latency histograms, for the
/// controller to export.
public final class ServerMetrics: Sendable {
    /// Upper bounds of the latency buckets, in microseconds; a last bucket
    /// counts everything slower.
    public static let latencyBucketsMicros: [UInt64] = [
        50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000,
    ]

    /// Counters of one method.
    public struct Method: Sendable, Hashable {
        /// Finished calls per status code (index = raw code).
        public var callsByCode = [UInt64](repeating: 0, count: 17)
        /// Calls per latency bucket (see `latencyBucketsMicros`).
        public var latencyBuckets = [UInt64](repeating: 0, count: ServerMetrics.latencyBucketsMicros.count + 1)
        /// Sum of latencies in microseconds.
        public var latencySumMicros: UInt64 = 0
        /// Calls started.
        public var started: UInt64 = 0

        public var finished: UInt64 { callsByCode.reduce(0, +) }
    }

    private let methods = Mutex<[String: Method]>([:])

    public init() {}

    func started(_ path: String) {
        methods.withLock { $0[path, default: Method()].started += 1 }
    }

    func finished(_ path: String, code: StatusCode, nanoseconds: UInt64) {
        let micros = nanoseconds / 1_000
        var bucket = ServerMetrics.latencyBucketsMicros.count
        for (i, b) in ServerMetrics.latencyBucketsMicros.enumerated() where micros <= b {
            bucket = i
            break
        }
        methods.withLock { all in
            all[path, default: Method()].callsByCode[code.rawValue] += 1
            all[path, default: Method()].latencyBuckets[bucket] += 1
            all[path, default: Method()].latencySumMicros += micros
        }
    }

    /// A copy of every method's counters, keyed by `:path`.
    public func snapshot() -> [String: Method] { methods.withLock { $0 } }
}
