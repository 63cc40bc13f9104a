/// How a ``GRPCChannel`` reaches its server.
public struct ClientConfiguration: Sendable {
    /// Transport security.
    public enum Security: Sendable {
        /// TLS: the server certificate is verified against the trust roots
        /// and `serverName` (a DNS name or an IP literal; default the
        /// target's host); the certificate, if given, is presented.
        case tls(TLSConfiguration, serverName: String? = nil)
        /// Plaintext HTTP/2 (h2c). For tests and benchmarks only.
        case insecurePlaintext
    }

    public var target: BindTarget
    /// Other addresses of the same service (replicas of a server). After a
    /// failed connection attempt, or when a connection is lost, the channel
    /// tries the next address at once; the backoff applies only when every
    /// address failed in turn. Empty by default.
    public var alternativeTargets: [BindTarget] = []
    public var security: Security
    /// Reconnect backoff and connect timeout (gRPC's defaults).
    public var backoff: ConnectionBackoff = .defaults
    /// Largest response message accepted: 4 MiB.
    public var maxReceiveMessageSize = 4 * 1024 * 1024
    /// Request bytes a writer may queue before `write` suspends: 256 KiB.
    public var outboundHighWater = 256 * 1024
    /// Response bytes buffered for a slow reader before the stream window
    /// is held back: 1 MiB.
    public var inboundHighWater = 1024 * 1024
    public var userAgent = "sriov-grpc/1.0"
    /// Request compression: none by default; `.gzip()` sends
    /// `grpc-encoding: gzip`. Responses in gzip are always accepted.
    public var compression = MessageCompression.none
    /// Keepalive PINGs; nil (the default, as in gRPC) sends none.
    public var keepalive: ClientKeepalive?

    public init(target: BindTarget, security: Security) {
        self.target = target
        self.security = security
    }
}

/// Client keepalive: a PING every `interval` while calls are open (or
/// always, with `permitWithoutCalls`); the connection is closed when a PING
/// is not acknowledged within `timeout`, failing its calls with UNAVAILABLE.
///
/// Servers refuse PINGs that come too often (gRPC servers by default allow
/// one per 5 minutes without calls); a GOAWAY `too_many_pings` doubles the
/// channel's interval, as gRPC clients do.
public struct ClientKeepalive: Sendable, Hashable {
    public var interval: Duration
    /// How long to wait for the PING ACK: 20 s, gRPC's default.
    public var timeout: Duration
    public var permitWithoutCalls: Bool

    public init(interval: Duration, timeout: Duration = .seconds(20), permitWithoutCalls: Bool = false) {
        self.interval = interval
        self.timeout = timeout
        self.permitWithoutCalls = permitWithoutCalls
    }
}
