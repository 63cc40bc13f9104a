// Interim: replaced by the strict SPIFFE parser in SPIFFEIdentity.swift.
public struct SPIFFEIdentity: Sendable, Hashable, CustomStringConvertible {
    public enum Role: String, Sendable, Hashable, CaseIterable { case `operator`, viewer, node }
    public let trustDomain: String
    public let role: Role
    public let name: String
    public var uri: String { "spiffe://\(trustDomain)/\(role.rawValue)/\(name)" }
    public var description: String { uri }
}

extension PeerIdentity {
    public var identity: SPIFFEIdentity? {
        guard let s = spiffeID, s.hasPrefix("spiffe://") else { return nil }
        let parts = s.dropFirst(9).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, let role = SPIFFEIdentity.Role(rawValue: String(parts[1])) else { return nil }
        return SPIFFEIdentity(trustDomain: String(parts[0]), role: role, name: String(parts[2]))
    }
}
