/// How a ``GRPCServer`` listens, secures and limits connections.
public struct ServerConfiguration: Sendable {
    /// Transport security.
    public enum Security: Sendable {
        /// TLS with the given configuration (client certificates required
        /// unless `clientAuth` is `.none`).
        case tls(TLSConfiguration)
        /// Plaintext HTTP/2 (h2c). For tests and benchmarks only.
        case insecurePlaintext
    }

    /// Limits and timeouts, each with its default.
    public struct Limits: Sendable {
        /// Largest request message accepted: 4 MiB, gRPC's default.
        public var maxReceiveMessageSize = 4 * 1024 * 1024
        /// SETTINGS_MAX_CONCURRENT_STREAMS: 1000 concurrent calls per connection.
        public var maxConcurrentStreams = 1000
        /// SETTINGS_INITIAL_WINDOW_SIZE: 1 MiB per stream, the most a slow
        /// handler lets a client send ahead.
        public var initialWindowSize = 1024 * 1024
        /// Connection-level receive window: 16 MiB.
        public var connectionWindowSize = 16 * 1024 * 1024
        /// SETTINGS_MAX_HEADER_LIST_SIZE: 16 KiB, gRPC's default.
        public var maxHeaderListSize = 16 * 1024
        /// Response bytes a handler may queue before `write` suspends: 256 KiB.
        public var outboundHighWater = 256 * 1024
        /// A TLS handshake must finish within 10 s.
        public var handshakeTimeout: Duration = .seconds(10)
        /// A connection without calls for this long gets a GOAWAY; nil = never.
        public var idleTimeout: Duration? = nil
        /// The server PINGs a connection that has been silent this long:
        /// 2 h, gRPC's default; nil sends no PINGs.
        public var keepaliveInterval: Duration? = .seconds(7200)
        /// A connection whose client does not acknowledge the PING within
        /// this long is closed (its calls are cancelled): 20 s, gRPC's default.
        public var keepaliveTimeout: Duration = .seconds(20)
        /// Client PINGs closer together than this count as strikes: 5 min,
        /// gRPC's default `min_ping_interval_without_data`.
        public var minPingInterval: Duration = .seconds(300)
        /// Strikes allowed before GOAWAY `too_many_pings`: 2, as gRPC.
        public var maxPingStrikes = 2
        /// nghttp2's RST_STREAM rate limit (rapid reset): burst 1000 and
        /// 33 per second refill, nghttp2's own defaults, set explicitly.
        public var streamResetBurst: UInt64 = 1000
        public var streamResetRate: UInt64 = 33
        /// CONTINUATION frames allowed after one HEADERS frame: 8.
        public var maxContinuations = 8
        /// Grace period of a graceful shutdown: 10 s.
        public var shutdownGracePeriod: Duration = .seconds(10)
        /// A connection older than this gets a GOAWAY, so that its client
        /// reconnects (and presents its certificate again): 1 h, with
        /// ±10 % jitter so that connections opened together do not all
        /// reconnect together; nil = no limit. Whatever it is, a connection
        /// never outlives its client certificate's notAfter.
        public var maxConnectionAge: Duration? = .seconds(3600)
        /// Calls still open this long after the maximum-age GOAWAY are
        /// cancelled and the connection closed: 30 s. Near the client
        /// certificate's notAfter the GOAWAY comes this much earlier.
        public var maxConnectionAgeGrace: Duration = .seconds(30)

        public init() {}

        public static var defaults: Self { Self() }

        var handshakeTimeoutNanos: UInt64 { nanos(handshakeTimeout) }
        var idleTimeoutNanos: UInt64? { idleTimeout.map(nanos) }
        var minPingIntervalNanos: UInt64 { nanos(minPingInterval) }
    }

    /// Message compression (gRPC's `grpc-encoding`).
    public struct Compression: Sendable, Hashable {
        /// When responses are gzip-compressed (only ever for a client that
        /// lists gzip in `grpc-accept-encoding`).
        public enum Responses: Sendable, Hashable {
            /// Never.
            case never
            /// When the request was gzip-compressed (the default).
            case mirrorRequest
            /// Whenever the client accepts gzip.
            case whenAccepted
        }

        /// Whether gzip requests are accepted; without it they end with
        /// UNIMPLEMENTED and `grpc-accept-encoding: identity`.
        public var acceptGzip = true
        public var responses: Responses = .mirrorRequest
        /// Response messages shorter than this go uncompressed: 0, every message.
        public var minimumSize = 0

        public init() {}

        public static var defaults: Self { Self() }
    }

    /// Where to listen.
    public var target: BindTarget
    public var security: Security
    /// Event-loop threads: default the number of cores.
    public var threads: Int
    public var limits: Limits
    public var compression: Compression

    public init(target: BindTarget, security: Security, threads: Int = System.coreCount, limits: Limits = .defaults,
                compression: Compression = .defaults) {
        self.target = target
        self.security = security
        self.threads = max(1, threads)
        self.limits = limits
        self.compression = compression
    }
}

func nanos(_ d: Duration) -> UInt64 {
    let (s, a) = d.components
    if s < 0 { return 0 }
    return UInt64(s) &* 1_000_000_000 &+ UInt64(a / 1_000_000_000)
}

/// Facts about the machine.
public enum System {
    /// Online CPUs.
    public static var coreCount: Int {
        Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}

import Glibc
