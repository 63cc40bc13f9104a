import COpenSSL
import CSriovShims
import Glibc

/// Checks that a certificate can serve as the controller's own: the
/// server's identity, never a client's.
public enum ServerCertificate {
    /// Why a certificate cannot serve.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Refuses a certificate (the first of the PEM chain at `path`) that is a
    /// CA, lacks serverAuth where it restricts its key usage, has expired, or
    /// carries a SPIFFE client identity (operator, viewer or node) of
    /// `trustDomain`.
    public static func check(path: String, trustDomain: String) throws(Problem) {
        guard let file = fopen(path, "r") else {
            throw Problem(description: "\(path): \(String(cString: strerror(errno)))")
        }
        let leaf = PEM_read_X509(file, nil, nil, nil)
        fclose(file)
        guard let leaf else { throw Problem(description: "\(path) holds no PEM certificate") }
        defer { X509_free(leaf) }
        if X509_check_ca(leaf) != 0 {
            throw Problem(description: "\(path) is a CA certificate; the controller needs a leaf certificate of its own")
        }
        if X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1 {
            throw Problem(description: "\(path) may not be used by a TLS server (its extendedKeyUsage lacks serverAuth): it is a client certificate")
        }
        if let seconds = PeerCertificate.secondsUntilExpiry(leaf), seconds <= 0 {
            throw Problem(description: "\(path) expired \(-seconds) seconds ago")
        }
        if let client = try? PeerCertificate.identity(of: leaf, trustDomain: trustDomain) {
            throw Problem(description: "\(path) carries the client identity \(client); the controller needs its own certificate, not an operator's, viewer's or node's")
        }
    }
}
