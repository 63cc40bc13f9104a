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
    /// The caller's identity, from the single SPIFFE URI SAN of its verified
    /// client certificate. Nil only on plaintext h2c and on TLS servers
    /// configured with `clientAuth: .none`; a server that requires client
    /// certificates refuses, at the handshake, every certificate without a
    /// valid identity.
    public var identity: SPIFFEIdentity?
    /// The remote address, `IP:PORT` or `unix`.
    public var address: String
    /// Whether the connection is TLS.
    public var isSecure: Bool

    public init(identity: SPIFFEIdentity?, address: String, isSecure: Bool) {
        self.identity = identity
        self.address = address
        self.isSecure = isSecure
    }

    /// The identity's `spiffe://TD/ROLE/NAME`, or `tls:ADDRESS` /
    /// `plaintext:ADDRESS` without one.
    public var description: String {
        if let identity { return identity.uri }
        return isSecure ? "tls:\(address)" : "plaintext:\(address)"
    }
}
