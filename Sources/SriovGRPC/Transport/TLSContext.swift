import COpenSSL
import CSriovShims
import Glibc
import SriovSync

/// TLS settings of a server or a client.
public struct TLSConfiguration: Sendable, Hashable {
    /// How a server treats client certificates.
    public enum ClientAuth: Sendable, Hashable {
        /// A certificate verified against the CA bundle and carrying exactly
        /// one SPIFFE ID of the trust domain is required (default).
        case required
        /// No certificate is asked for. For tests and benchmarks only.
        case none
    }

    /// PEM certificate chain (leaf first).
    public var certificatePath: String?
    /// PEM private key of the certificate.
    public var privateKeyPath: String?
    /// PEM CA bundle that peers' certificates are verified against. CRLs in
    /// it are loaded too, and then checked.
    public var trustRootsPath: String?
    /// Server only: client certificate policy.
    public var clientAuth: ClientAuth = .required
    /// Server only: the SPIFFE trust domain of client identities.
    public var trustDomain: String = "sriov.local"
    /// PEM file of certificate revocation lists, besides those in the CA
    /// bundle. Once any CRL is loaded, every peer's issuer must have a
    /// current CRL (`X509_V_FLAG_CRL_CHECK`).
    public var crlPath: String? = nil

    public init(certificatePath: String?, privateKeyPath: String?, trustRootsPath: String?, clientAuth: ClientAuth = .required,
                trustDomain: String = "sriov.local", crlPath: String? = nil) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
        self.clientAuth = clientAuth
        self.trustDomain = trustDomain
        self.crlPath = crlPath
    }
}

/// A TLS failure: what was being done, and OpenSSL's reasons.
public struct TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    public var reason: String

    public var description: String { "TLS \(operation) failed: \(reason)" }

    /// Drains OpenSSL's error queue into an error.
    static func drain(_ operation: String) -> TLSError {
        var buf = [CChar](repeating: 0, count: 1024)
        CSriovShims_ERR_drain(&buf, buf.count)
        let text = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return TLSError(operation: operation, reason: text.isEmpty ? "unknown OpenSSL error" : text)
    }
}

/// An OpenSSL `SSL_CTX` configured for gRPC: ALPN h2, peer verification
/// (with CRLs when there are any) and one fixed TLS policy, see
/// ``TLSPolicy``. A server context that requires client certificates also
/// checks each one's X509-SVID leaf rules and SPIFFE ID at the handshake.
/// Connections hold their own reference (`SSL_new` takes one), so a
/// reloaded context can replace this one at any time.
///
/// `@unchecked Sendable`: the context is not modified after `init`, and
/// OpenSSL contexts may be used from several threads once set up.
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    let isServer: Bool
    let configuration: TLSConfiguration
    /// CRLs in the trust store; revocation is checked when there are any.
    private(set) var crlCount: Int
    /// The bytes of the CA bundle and the CRL file: a reload that changes
    /// them re-verifies open connections.
    let trustMaterial: [UInt8]

    init(configuration c: TLSConfiguration, server: Bool) throws {
        CSriovShims_ERR_clear_error()
        guard let ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.drain("creating a context")
        }
        self.ctx = ctx
        self.isServer = server
        self.configuration = c
        var material: [UInt8] = []
        for path in [c.trustRootsPath, c.crlPath] {
            if let path, !path.isEmpty { material += (readWholeFile(path) ?? []) + [0] }
        }
        trustMaterial = material
        crlCount = 0
        // Every stored property is set: `deinit` frees the context on a throw.
        try TLSPolicy.apply(to: ctx, server: server)
        if server {
            CSriovShims_SSL_CTX_select_alpn_h2(ctx)
        }
        let verify: Int32 = server ? (c.clientAuth == .required ? 2 : 0) : 1
        let ok = CSriovShims_SSL_CTX_load(ctx, c.certificatePath ?? "", c.privateKeyPath ?? "", c.trustRootsPath ?? "", verify)
        if ok != 1 {
            throw TLSError.drain("loading certificate \(c.certificatePath ?? "-"), key \(c.privateKeyPath ?? "-"), CA \(c.trustRootsPath ?? "-")")
        }
        if server && (c.certificatePath ?? "").isEmpty {
            throw TLSError(operation: "configuring the server", reason: "a server needs a certificate and a key")
        }
        if server && c.clientAuth == .required && (c.trustRootsPath ?? "").isEmpty {
            throw TLSError(operation: "configuring the server", reason: "client certificates are required but no CA bundle is given")
        }
        if let crl = c.crlPath, !crl.isEmpty {
            CSriovShims_ERR_clear_error()
            if CSriovShims_SSL_CTX_load_crl_file(ctx, crl) <= 0 {
                throw TLSError(operation: "loading CRL file \(crl)", reason: "it holds no PEM X509 CRL (\(TLSError.drain("").reason))")
            }
        }
        crlCount = Int(CSriovShims_SSL_CTX_crl_count(ctx))
        if crlCount > 0, let store = SSL_CTX_get_cert_store(ctx) {
            X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK))
        }
        if server && c.clientAuth == .required {
            do {
                try SPIFFEIdentity.validateTrustDomain(c.trustDomain)
            } catch {
                throw TLSError(operation: "configuring the server", reason: "trust domain: \(error)")
            }
            SSL_CTX_set_cert_verify_callback(ctx, clientCertificateVerifier, nil)
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// The server's certificate check: the chain as OpenSSL verifies it, then
/// the identity rules of the connection (``HTTP2Connection/verifyPeer(_:)``).
/// A refusal fails the handshake with `X509_V_ERR_APPLICATION_VERIFICATION`.
private let clientCertificateVerifier: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { store, _ in
    guard let store else { return 0 }
    let ok = X509_verify_cert(store)
    guard ok == 1 else { return ok }
    guard let leaf = X509_STORE_CTX_get0_cert(store),
          let sslRaw = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
          let user = SSL_get_ex_data(OpaquePointer(sslRaw), 0)
    else {
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
        return 0
    }
    // The handshake runs inside SSL_accept on the connection's loop, which
    // holds the connection.
    let connection = Unmanaged<HTTP2Connection>.fromOpaque(user).takeUnretainedValue()
    if connection.verifyPeer(leaf) { return 1 }
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
    return 0
}

/// A whole small file (CA bundles, CRLs), nil when it cannot be read.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return n == 0 ? out : nil }
        out += chunk[0..<n]
    }
}

extension TLSContext {
    private static let clientCache = Locked<[String: TLSContext]>([:])

    /// A client context for `configuration`, shared by channels with the
    /// same files as long as the files are unchanged (their modification
    /// times are part of the key), so that rotated certificates are picked
    /// up by the next channel.
    static func client(_ configuration: TLSConfiguration) throws -> TLSContext {
        var key = ""
        for path in [configuration.certificatePath, configuration.privateKeyPath, configuration.trustRootsPath, configuration.crlPath] {
            var st = stat()
            if let path, stat(path, &st) == 0 {
                key += "\(path)@\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)/\(st.st_size)|"
            } else {
                key += "\(path ?? "-")|"
            }
        }
        if let cached = clientCache.withLock({ $0[key] }) { return cached }
        let fresh = try TLSContext(configuration: configuration, server: false)
        clientCache.withLock { cache in
            if cache.count > 64 { cache.removeAll() }
            cache[key] = fresh
        }
        return fresh
    }
}
