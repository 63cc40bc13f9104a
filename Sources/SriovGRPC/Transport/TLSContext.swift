import COpenSSL
import CSriovShims
import Glibc
import Synchronization

/// TLS settings of a server or a client.
public struct TLSConfiguration: Sendable, Hashable {
    /// How a server treats client certificates.
    public enum ClientAuth: Sendable, Hashable {
        /// A certificate verified against the CA bundle is required (default).
        case required
        /// No certificate is asked for. For tests and benchmarks only.
        case none
    }

    /// PEM certificate chain (leaf first).
    public var certificatePath: String?
    /// PEM private key of the certificate.
    public var privateKeyPath: String?
    /// PEM CA bundle that peers' certificates are verified against.
    public var trustRootsPath: String?
    /// Server only: client certificate policy.
    public var clientAuth: ClientAuth = .required

    public init(certificatePath: String?, privateKeyPath: String?, trustRootsPath: String?, clientAuth: ClientAuth = .required) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
        self.clientAuth = clientAuth
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

/// An OpenSSL `SSL_CTX` configured for gRPC: TLS 1.2+, ALPN h2, peer
/// verification. Connections hold their own reference (`SSL_new` takes
/// one), so a reloaded context can replace this one at any time.
///
/// `@unchecked Sendable`: the context is not modified after `init`, and
/// OpenSSL contexts may be used from several threads once set up.
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    let isServer: Bool

    init(configuration c: TLSConfiguration, server: Bool) throws {
        CSriovShims_ERR_clear_error()
        guard let ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.drain("creating a context")
        }
        self.ctx = ctx
        self.isServer = server
        _ = CSriovShims_SSL_CTX_set_min_proto_version(ctx, CSriovShims_TLS1_2_VERSION())
        _ = CSriovShims_SSL_CTX_set_mode(ctx, CSriovShims_SSL_MODE_RELEASE_BUFFERS() | CSriovShims_SSL_MODE_ENABLE_PARTIAL_WRITE() | CSriovShims_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        _ = CSriovShims_SSL_CTX_set_options(ctx, CSriovShims_SSL_OP_NO_RENEGOTIATION() | CSriovShims_SSL_OP_NO_COMPRESSION() | CSriovShims_SSL_OP_CIPHER_SERVER_PREFERENCE() | CSriovShims_SSL_OP_IGNORE_UNEXPECTED_EOF())
        if server {
            CSriovShims_SSL_CTX_select_alpn_h2(ctx)
            // No session cache or tickets: every agent keeps one long-lived
            // connection, and tickets cost a signature each.
            _ = CSriovShims_SSL_CTX_set_session_cache_mode(ctx, 0)
            SSL_CTX_set_num_tickets(ctx, 0)
        }
        let verify: Int32 = server ? (c.clientAuth == .required ? 2 : 0) : 1
        let ok = CSriovShims_SSL_CTX_load(ctx, c.certificatePath ?? "", c.privateKeyPath ?? "", c.trustRootsPath ?? "", verify)
        if ok != 1 {
            // `deinit` frees the context: every stored property is set.
            throw TLSError.drain("loading certificate \(c.certificatePath ?? "-"), key \(c.privateKeyPath ?? "-"), CA \(c.trustRootsPath ?? "-")")
        }
        if server && (c.certificatePath ?? "").isEmpty {
            throw TLSError(operation: "configuring the server", reason: "a server needs a certificate and a key")
        }
        if server && c.clientAuth == .required && (c.trustRootsPath ?? "").isEmpty {
            throw TLSError(operation: "configuring the server", reason: "client certificates are required but no CA bundle is given")
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

extension TLSContext {
    private static let clientCache = Mutex<[String: TLSContext]>([:])

    /// A client context for `configuration`, shared by channels with the
    /// same files as long as the files are unchanged (their modification
    /// times are part of the key), so that rotated certificates are picked
    /// up by the next channel.
    static func client(_ configuration: TLSConfiguration) throws -> TLSContext {
        var key = ""
        for path in [configuration.certificatePath, configuration.privateKeyPath, configuration.trustRootsPath] {
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
