import COpenSSL
import CSriovShims

/// The one TLS policy of every server and client, set explicitly rather than
/// left to the distribution's OpenSSL configuration:
///
/// - TLS 1.3 preferred, TLS 1.2 allowed only with ECDHE key exchange and
///   AEAD ciphers (AES-GCM, ChaCha20-Poly1305): no CBC, no static RSA;
/// - security level 2 (at least 112-bit security: RSA and DH keys of
///   2048 bits or more, no SHA-1 signatures), for our keys and for peers';
/// - no session tickets and no session cache at any version, so there is
///   no resumption (each agent keeps one long-lived connection, and a
///   resumed session would skip the certificate checks);
/// - no renegotiation, no compression.
enum TLSPolicy {
    /// TLS 1.2 cipher suites, in preference order.
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    /// TLS 1.3 cipher suites (all AEAD), in preference order.
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    /// Key-exchange groups.
    static let groups = "X25519:P-256:P-384"
    /// OpenSSL security level.
    static let securityLevel: Int32 = 2
    /// Distinguishes our sessions from any other application's; there is no
    /// cache, but OpenSSL refuses client verification without one.
    static let sessionIDContext = Array("sriov-grpc".utf8)

    static func apply(to ctx: OpaquePointer, server: Bool) throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw TLSError.drain("setting the TLS policy (\(what))") }
        }
        try check(CSriovShims_SSL_CTX_set_min_proto_version(ctx, CSriovShims_TLS1_2_VERSION()) == 1, "minimum version TLS 1.2")
        try check(SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1, "TLS 1.2 ciphers")
        try check(SSL_CTX_set_ciphersuites(ctx, tls13Suites) == 1, "TLS 1.3 cipher suites")
        try check(CSriovShims_SSL_CTX_set1_groups_list(ctx, groups) == 1, "groups")
        SSL_CTX_set_security_level(ctx, securityLevel)
        _ = CSriovShims_SSL_CTX_set_mode(ctx, CSriovShims_SSL_MODE_RELEASE_BUFFERS() | CSriovShims_SSL_MODE_ENABLE_PARTIAL_WRITE() | CSriovShims_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        _ = CSriovShims_SSL_CTX_set_options(
            ctx, CSriovShims_SSL_OP_NO_RENEGOTIATION() | CSriovShims_SSL_OP_NO_COMPRESSION() | CSriovShims_SSL_OP_CIPHER_SERVER_PREFERENCE()
                | CSriovShims_SSL_OP_IGNORE_UNEXPECTED_EOF() | CSriovShims_SSL_OP_NO_TICKET())
        // Off on both sides: SSL_SESS_CACHE_OFF.
        _ = CSriovShims_SSL_CTX_set_session_cache_mode(ctx, 0)
        try check(sessionIDContext.withUnsafeBufferPointer { SSL_CTX_set_session_id_context(ctx, $0.baseAddress, UInt32($0.count)) } == 1, "session id context")
        if server {
            // TLS 1.3 tickets are sent after the handshake unless turned off
            // here as well; SSL_OP_NO_TICKET covers TLS 1.2.
            SSL_CTX_set_num_tickets(ctx, 0)
        }
        // A server verifies client certificates for client authentication,
        // a client the server's for server authentication.
        try check(SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER) == 1, "certificate purpose")
    }
}
