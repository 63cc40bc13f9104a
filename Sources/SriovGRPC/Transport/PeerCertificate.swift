import COpenSSL
import CSriovShims

/// What the server reads from a verified client certificate (an `X509*`
/// borrowed for the duration of a call): its identity by the X509-SVID
/// rules, and how long it stays valid.
enum PeerCertificate {
    /// The X509-SVID leaf rules, then exactly one URI SAN that parses into a
    /// ``SPIFFEIdentity`` of `trustDomain`.
    static func identity(of leaf: OpaquePointer, trustDomain: String) throws(SPIFFEIDError) -> SPIFFEIdentity {
        let rule = CSriovShims_X509_svid_leaf_check(leaf)
        if rule != CSriovShims_SVID_OK {
            throw SPIFFEIDError(.leafRules, leafRuleMessage(rule))
        }
        var buffer = [UInt8](repeating: 0, count: SPIFFEID.maxLength)
        var length = 0
        let count = CSriovShims_X509_uri_sans(leaf, &buffer, buffer.count, &length)
        switch count {
        case ..<0:
            throw SPIFFEIDError(.noURISAN, "the certificate's subjectAltName extension cannot be decoded (or appears twice)")
        case 0:
            throw SPIFFEIDError(.noURISAN, "the certificate carries no URI SAN, so no SPIFFE ID")
        case 1:
            break
        default:
            throw SPIFFEIDError(.multipleURISANs, "the certificate carries \(count) URI SANs; an X509-SVID carries exactly one")
        }
        if length > buffer.count {
            // Too long to have been copied: refuse by its length alone.
            throw SPIFFEIDError(.tooLong, "a SPIFFE ID is at most \(SPIFFEID.maxLength) bytes, this one has \(length)")
        }
        return try SPIFFEIdentity(parsing: buffer[0..<length], expectedTrustDomain: trustDomain)
    }

    /// Seconds until the certificate's notAfter (negative once past); nil
    /// when it cannot be read.
    static func secondsUntilExpiry(_ cert: OpaquePointer) -> Int64? {
        var seconds: Int64 = 0
        return CSriovShims_X509_seconds_until_expiry(cert, &seconds) == 1 ? seconds : nil
    }

    static func leafRuleMessage(_ rule: Int32) -> String {
        switch rule {
        case CSriovShims_SVID_CA: "a client certificate must not be a CA (basicConstraints CA:TRUE)"
        case CSriovShims_SVID_KEY_CERT_SIGN: "a client certificate must not have keyUsage keyCertSign"
        case CSriovShims_SVID_CRL_SIGN: "a client certificate must not have keyUsage cRLSign"
        case CSriovShims_SVID_NO_KEY_USAGE: "a client certificate needs a keyUsage extension with digitalSignature"
        case CSriovShims_SVID_NO_DIGITAL_SIGNATURE: "a client certificate needs keyUsage digitalSignature"
        case CSriovShims_SVID_NO_CLIENT_AUTH: "a client certificate's extendedKeyUsage must include clientAuth"
        default: "the certificate's extensions cannot be decoded"
        }
    }
}
