/// A caller's identity, parsed from the single SPIFFE URI SAN of its verified certificate.
///
/// The only form accepted is `spiffe://TRUST-DOMAIN/ROLE/NAME` with ROLE one
/// of `operator`, `viewer`, `node` and NAME a DNS-1123 label (lower-case
/// letters, digits and `-`, starting and ending with a letter or digit, at
/// most 63 bytes), in the trust domain the server is configured with. The
/// server refuses any other client certificate at the handshake, so a
/// handler never sees anything else.
public struct SPIFFEIdentity: Sendable, Hashable, CustomStringConvertible {
    /// What a caller may do (the controller's authorization decides how).
    public enum Role: String, Sendable, Hashable, CaseIterable {
        /// Desired-state writes and all reads.
        case `operator`
        /// Reads and watches.
        case viewer
        /// One node's agent.
        case node
    }

    public let trustDomain: String
    public let role: Role
    /// A DNS-1123 label: the node's, operator's or viewer's name.
    public let name: String

    /// Builds an identity, checking each part.
    public init(trustDomain: String, role: Role, name: String) throws(SPIFFEIDError) {
        let uri = Array("spiffe://\(trustDomain)/\(role.rawValue)/\(name)".utf8)
        let parsed = try SPIFFEID(parsing: uri)
        guard parsed.trustDomain == trustDomain, parsed.segments == [role.rawValue, name] else {
            throw SPIFFEIDError(.pathShape, "trust domain \"\(SPIFFEIDError.escape(trustDomain.utf8))\" and name \"\(SPIFFEIDError.escape(name.utf8))\" do not make one SPIFFE ID", input: uri)
        }
        try Self.checkName(name, uri: uri)
        self.trustDomain = trustDomain
        self.role = role
        self.name = name
    }

    /// Parses `spiffe://TD/ROLE/NAME` by the SPIFFE spec's rules; throws with a precise reason.
    public init(parsing uri: some Collection<UInt8>, expectedTrustDomain: String) throws(SPIFFEIDError) {
        let bytes = Array(uri)
        let id = try SPIFFEID(parsing: bytes)
        guard id.trustDomain == expectedTrustDomain else {
            throw SPIFFEIDError(.trustDomainMismatch, "trust domain \"\(id.trustDomain)\" is not the configured \"\(SPIFFEIDError.escape(expectedTrustDomain.utf8))\"", input: bytes)
        }
        guard id.segments.count == 2 else {
            throw SPIFFEIDError(.pathShape, "the path must be /ROLE/NAME, it has \(id.segments.count) segment\(id.segments.count == 1 ? "" : "s")", input: bytes)
        }
        guard let role = Role(rawValue: id.segments[0]) else {
            throw SPIFFEIDError(.unknownRole, "role \"\(id.segments[0])\" is not one of operator, viewer, node", input: bytes)
        }
        try Self.checkName(id.segments[1], uri: bytes)
        trustDomain = id.trustDomain
        self.role = role
        name = id.segments[1]
    }

    /// `spiffe://TD/ROLE/NAME`.
    public var uri: String { "spiffe://\(trustDomain)/\(role.rawValue)/\(name)" }

    public var description: String { uri }

    /// Checks a trust domain as ``SPIFFEID`` would parse it (for configuration).
    public static func validateTrustDomain(_ trustDomain: String) throws(SPIFFEIDError) {
        let id = try SPIFFEID(parsing: Array("spiffe://\(trustDomain)".utf8))
        guard id.segments.isEmpty else {
            throw SPIFFEIDError(.trustDomainCharacter, "a trust domain has no '/'", input: Array(trustDomain.utf8))
        }
    }

    /// Whether `name` is a DNS-1123 label.
    public static func isDNS1123Label(_ name: some BidirectionalCollection<UInt8>) -> Bool {
        guard !name.isEmpty, name.count <= 63, let first = name.first, let last = name.last else { return false }
        func alnum(_ b: UInt8) -> Bool { (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) }
        return alnum(first) && alnum(last) && name.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func checkName(_ name: String, uri: [UInt8]) throws(SPIFFEIDError) {
        guard isDNS1123Label(name.utf8) else {
            throw SPIFFEIDError(.invalidName, "name \"\(SPIFFEIDError.escape(name.utf8))\" is not a DNS-1123 label (a-z, 0-9 and '-', starting and ending with a letter or digit, at most 63 bytes)", input: uri)
        }
    }
}
