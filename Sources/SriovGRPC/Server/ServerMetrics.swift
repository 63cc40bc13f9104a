import SriovSync

/// Per-method call counts by status code and latency histograms, for the
/// controller to export.
public final class ServerMetrics: Sendable {
    /// Connections closed because the client did not acknowledge a
    /// keepalive PING in time.
    public let keepaliveTimeouts = Atomic<UInt64>(0)
    /// Keepalive PINGs sent to silent connections.
    public let keepalivePings = Atomic<UInt64>(0)
    /// PINGs received from clients (each checked against the ping policy).
    public let pingsReceived = Atomic<UInt64>(0)
    /// Client certificates refused at the handshake for their identity (no
    /// or several URI SANs, a bad SPIFFE ID, X509-SVID leaf rules).
    public let identityRefusals = Atomic<UInt64>(0)
    /// Connections sent a GOAWAY for their maximum age or their client
    /// certificate's coming expiry.
    public let connectionsAgedOut = Atomic<UInt64>(0)
    /// Connections closed because their client certificate no longer
    /// verified after a reload of the CA bundle or the CRLs.
    public let connectionsRevoked = Atomic<UInt64>(0)
    /// Successful and failed TLS reloads (``GRPCServer/reloadTLS()``).
    public let tlsReloads = Atomic<UInt64>(0)
    public let tlsReloadFailures = Atomic<UInt64>(0)

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

    /// The counters of one method behind their own lock, so that calls of
    /// different methods do not contend and no path is hashed per call.
    final class Cell: Sendable {
        let counters = Locked(Method())

        func started() { counters.withLock { $0.started += 1 } }

        func finished(code: StatusCode, nanoseconds: UInt64) {
            let micros = nanoseconds / 1_000
            var bucket = ServerMetrics.latencyBucketsMicros.count
            for (i, b) in ServerMetrics.latencyBucketsMicros.enumerated() where micros <= b {
                bucket = i
                break
            }
            counters.withLock { m in
                m.callsByCode[code.rawValue] += 1
                m.latencyBuckets[bucket] += 1
                m.latencySumMicros += micros
            }
        }
    }

    let cells: [String: Cell]

    init(paths: [String]) {
        var cells: [String: Cell] = [:]
        for p in paths { cells[p] = Cell() }
        self.cells = cells
    }

    /// A copy of every method's counters, keyed by `:path`.
    public func snapshot() -> [String: Method] { cells.mapValues { $0.counters.withLock { $0 } } }
}
