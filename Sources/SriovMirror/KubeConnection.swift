import COpenSSL
import CSriovShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The client TLS context for the API server: its CA, the optional client
/// certificate, TLS 1.2 or later, ALPN `http/1.1`.
final class KubeTLSContext: @unchecked Sendable {
    // Safe: the SSL_CTX is configured once in init and only read afterwards
    // (SSL_new takes its own reference), which OpenSSL allows from any thread.
    let ctx: OpaquePointer

    init(_ config: KubeConfig) throws(KubeError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Self.drain("SSL_CTX_new") }
        self.ctx = ctx
        _ = CSriovShims_SSL_CTX_set_min_proto_version(ctx, CSriovShims_TLS1_2_VERSION())
        if let ca = config.caPath {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else { throw Self.drain("loading the CA \(ca)") }
        } else {
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else { throw Self.drain("loading the system CAs") }
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        if let cert = config.clientCertificatePath, let key = config.clientKeyPath {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw Self.drain("loading the client certificate \(cert)")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw Self.drain("loading the client key \(key)")
            }
        }
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        _ = SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count))
    }

    deinit { SSL_CTX_free(ctx) }

    /// The first error of OpenSSL's queue (the queue is emptied).
    static func drain(_ operation: String) -> KubeError {
        var reason = "unknown error"
        var code = ERR_get_error()
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        while code != 0 { code = ERR_get_error() }
        return KubeError(.transport, "TLS \(operation) failed: \(reason)")
    }
}

/// One blocking TLS connection to the API server, used by one thread at a
/// time (a request, or a watch for its whole life).
final class KubeConnection: @unchecked Sendable {
    // Safe: a connection is owned by one thread at a time (the pool hands it
    // out exclusively); only `abort()` is called from another thread, and it
    // touches the file descriptor with shutdown(2) alone.
    private let fd: Int32
    private let ssl: OpaquePointer
    private var buffer: [UInt8] = []
    private var start = 0
    /// Requests served on this connection (a reused one may have been closed
    /// by the server meanwhile).
    var served = 0

    init(config: KubeConfig, context: KubeTLSContext, timeout: Duration) throws(KubeError) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(config.host, String(config.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw KubeError(.transport, "cannot resolve \(config.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var fd: Int32 = -1
        var lastErrno: Int32 = 0
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s >= 0 {
                Self.setTimeout(s, timeout)
                if connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    fd = s
                    break
                }
                lastErrno = errno
                close(s)
            }
            ai = a.pointee.ai_next
        }
        guard fd >= 0 else {
            throw KubeError(.transport, "cannot connect to \(config.host):\(config.port): \(String(cString: strerror(lastErrno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard let ssl = SSL_new(context.ctx) else {
            close(fd)
            throw KubeTLSContext.drain("SSL_new")
        }
        self.fd = fd
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        if Self.isIPAddress(config.host) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), config.host)
        } else {
            _ = CSriovShims_SSL_set_tlsext_host_name(ssl, config.host)
            SSL_set1_host(ssl, config.host)
        }
        guard SSL_connect(ssl) == 1 else {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                let reason = String(cString: X509_verify_cert_error_string(verify))
                CSriovShims_ERR_clear_error()
                throw KubeError(.transport, "TLS handshake with \(config.host):\(config.port): server certificate not trusted: \(reason)")
            }
            throw KubeTLSContext.drain("handshake with \(config.host):\(config.port)")
        }
    }

    deinit {
        SSL_free(ssl)
        close(fd)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static func setTimeout(_ fd: Int32, _ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sets how long a read may block (watches wait longer than requests).
    func setReadTimeout(_ timeout: Duration) { Self.setTimeout(fd, timeout) }

    /// Unblocks a thread reading this connection (from any thread).
    func abort() { shutdown(fd, Int32(SHUT_RDWR)) }

    func write(_ bytes: [UInt8]) throws(KubeError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            guard n > 0 else { throw KubeTLSContext.drain("write") }
            offset += Int(n)
        }
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    private func fill() throws(KubeError) -> Bool {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let n = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<Int(n)])
            return true
        }
        let err = SSL_get_error(ssl, n)
        if err == SSL_ERROR_ZERO_RETURN { return false }
        if err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK) {
            CSriovShims_ERR_clear_error()
            throw KubeError(.transport, "read timed out")
        }
        CSriovShims_ERR_clear_error()
        return false
    }

    /// One line without its CRLF; nil at the end of the stream.
    func readLine(limit: Int = 64 * 1024) throws(KubeError) -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = nl + 1
                return line
            }
            if buffer.count - start > limit { throw KubeError(.protocolViolation, "a line longer than \(limit) bytes") }
            guard try fill() else { return nil }
        }
    }

    /// Exactly `count` bytes.
    func read(count: Int) throws(KubeError) -> [UInt8] {
        while buffer.count - start < count {
            guard try fill() else { throw KubeError(.transport, "the connection closed in the middle of a body") }
        }
        let out = Array(buffer[start..<(start + count)])
        start += count
        return out
    }

    /// Everything until the server closes the connection.
    func readToEnd(limit: Int) throws(KubeError) -> [UInt8] {
        while try fill() {
            if buffer.count - start > limit { throw KubeError(.protocolViolation, "a body longer than \(limit) bytes") }
        }
        let out = Array(buffer[start...])
        start = buffer.count
        return out
    }
}
