import COpenSSL

/// The node identity in the agent's own certificate: the URI SAN
/// `spiffe://TRUST-DOMAIN/node/NAME`.
public struct NodeIdentity: Sendable, Hashable, CustomStringConvertible {
    public var trustDomain: String
    public var nodeName: String

    public var description: String { "spiffe://\(trustDomain)/node/\(nodeName)" }

    /// Parses `spiffe://TD/node/NAME`; nil for any other URI.
    public init?(uri: String) {
        guard uri.hasPrefix("spiffe://") else { return nil }
        let parts = uri.dropFirst("spiffe://".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1] == "node", !parts[2].isEmpty else { return nil }
        trustDomain = String(parts[0])
        nodeName = String(parts[2])
    }

    /// Reads the identity from a PEM certificate file.
    ///
    /// - Throws: ``AgentError`` when the file is no certificate or carries
    ///   no `spiffe://…/node/NAME` URI SAN.
    public static func load(certificatePath path: String) throws(AgentError) -> NodeIdentity {
        let uri = try uriSAN(certificatePath: path)
        guard let uri else {
            throw AgentError("\(path) has no URI SAN; an agent certificate needs spiffe://TRUST-DOMAIN/node/NAME")
        }
        guard let identity = NodeIdentity(uri: uri) else {
            throw AgentError("\(path) names \(uri), not a node identity spiffe://TRUST-DOMAIN/node/NAME")
        }
        return identity
    }

    /// Checks that `nodeName` is the node in the certificate.
    public static func verify(nodeName: String, certificatePath path: String) throws(AgentError) -> NodeIdentity {
        let identity = try load(certificatePath: path)
        guard identity.nodeName == nodeName else {
            throw AgentError("--node-name \(nodeName) does not match the certificate \(path), which is for node \(identity.nodeName) (\(identity))")
        }
        return identity
    }

    /// The first URI SAN of the certificate, nil when it has none.
    static func uriSAN(certificatePath path: String) throws(AgentError) -> String? {
        guard let bio = BIO_new_file(path, "r") else {
            ERR_clear_error()
            throw AgentError("cannot read the certificate \(path)")
        }
        defer { BIO_free(bio) }
        guard let cert = PEM_read_bio_X509(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw AgentError("\(path) is not a PEM certificate")
        }
        defer { X509_free(cert) }
        guard let raw = X509_get_ext_d2i(cert, NID_subject_alt_name, nil, nil) else { return nil }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        for i in 0..<OPENSSL_sk_num(names) {
            guard let item = OPENSSL_sk_value(names, i) else { continue }
            let name = item.assumingMemoryBound(to: GENERAL_NAME.self)
            guard name.pointee.type == GEN_URI, let s = name.pointee.d.uniformResourceIdentifier,
                  let data = ASN1_STRING_get0_data(s) else { continue }
            let length = Int(ASN1_STRING_length(s))
            return String(decoding: UnsafeBufferPointer(start: data, count: length), as: UTF8.self)
        }
        return nil
    }
}

/// A startup or configuration error of the agent, printed as one line.
public struct AgentError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
