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

    public init(target: BindTarget, security: Security) {
        self.target = target
        self.security = security
    }
}
