/// What a handler knows about its call: the method, the caller's identity,
/// the request metadata and the deadline.
public struct ServerContext: Sendable {
    /// The `:path`, `/package.Service/Method`.
    public var path: String
    /// The authenticated peer.
    public var peer: PeerIdentity
    /// Request metadata (custom headers; `-bin` values decoded).
    public var metadata: Metadata
    /// When the caller gives up, if it set a timeout.
    public var deadline: ContinuousClock.Instant?
    /// The caller's `user-agent` header, e.g. `grpc-python/1.66.1 ...`.
    public var userAgent: String?

    public init(path: String, peer: PeerIdentity, metadata: Metadata, deadline: ContinuousClock.Instant?, userAgent: String? = nil) {
        self.path = path
        self.peer = peer
        self.metadata = metadata
        self.deadline = deadline
        self.userAgent = userAgent
    }
}

/// Who is on the other end of a connection.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The URI SAN of the verified client certificate, e.g.
    /// `spiffe://sriov.local/node/worker-1`; nil without a client certificate.
    public var spiffeID: String?
    /// The remote address, `IP:PORT` or `unix`.
    public var address: String
    /// Whether the connection is TLS.
    public var isSecure: Bool

    public init(spiffeID: String?, address: String, isSecure: Bool) {
        self.spiffeID = spiffeID
        self.address = address
        self.isSecure = isSecure
    }

    public var description: String { spiffeID ?? (isSecure ? "tls:\(address)" : "plaintext:\(address)") }
}
