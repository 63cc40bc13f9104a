import COpenSSL
import Foundation
import Glibc
import SriovTestSupport

/// A raw HTTP/2 client for conformance tests: writes frames byte for byte,
/// however wrong, and reads the server's frames back. Plaintext (h2c), or TLS
/// with ALPN `h2` and a client certificate (OpenSSL directly, so that nothing
/// of the runtime's own TLS layer is between the frames and the server),
/// over TCP to a loopback server; every read is bounded by a timeout.
final class RawFrameClient {
    /// One frame as received.
    struct Frame: CustomStringConvertible {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        var description: String { "\(RawFrameClient.typeName(type)) flags=0x\(String(flags, radix: 16)) stream=\(stream) length=\(payload.count)" }

        /// The error code of a GOAWAY or RST_STREAM.
        var errorCode: UInt32? {
            switch type {
            case 3 where payload.count >= 4: return UInt32(bigEndian: payload[0..<4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            case 7 where payload.count >= 8: return UInt32(bigEndian: payload[4..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            default: return nil
            }
        }
    }

    enum Event: CustomStringConvertible {
        case frame(Frame)
        case closed
        case timedOut

        var description: String {
            switch self {
            case .frame(let f): "\(f)"
            case .closed: "connection closed"
            case .timedOut: "nothing within the timeout"
            }
        }
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    let fd: Int32
    /// The TLS connection, nil for h2c.
    private var ssl: OpaquePointer?
    private var sslContext: OpaquePointer?
    private var buffer: [UInt8] = []
    /// Everything received so far, for failure messages.
    private(set) var received: [Frame] = []

    /// Connects to `port` on 127.0.0.1; with `tls`, completes a TLS
    /// handshake presenting `identity` and checks that the server chose h2.
    init(port: Int, tls certs: CertificateDirectory? = nil, identity: String = "node-n1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let certs { try startTLS(certs, identity: identity) }
    }

    private func startTLS(_ certs: CertificateDirectory, identity: String) throws {
        signal(SIGPIPE, SIG_IGN)  // SSL_write to a closed peer
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw RawFrameError(message: "SSL_CTX_new failed") }
        sslContext = ctx
        guard SSL_CTX_use_certificate_chain_file(ctx, certs.path("\(identity).crt")) == 1,
              SSL_CTX_use_PrivateKey_file(ctx, certs.path("\(identity).key"), SSL_FILETYPE_PEM) == 1,
              SSL_CTX_load_verify_locations(ctx, certs.path("ca.crt"), nil) == 1 else {
            throw RawFrameError(message: "cannot load the client certificate \(identity) or the CA from \(certs.directory)")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        // Reads return after a record that carries no application data (a
        // TLS 1.3 session ticket) instead of blocking for the next one, so
        // every read stays bounded by next(timeout:).
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_CLEAR_MODE, Int(SSL_MODE_AUTO_RETRY), nil)
        let alpn: [UInt8] = [2, 0x68, 0x32]  // "h2"
        guard SSL_CTX_set_alpn_protos(ctx, alpn, UInt32(alpn.count)) == 0, let connection = SSL_new(ctx) else {
            throw RawFrameError(message: "cannot set up the TLS connection")
        }
        ssl = connection
        SSL_set_fd(connection, fd)
        guard SSL_connect(connection) == 1 else {
            throw RawFrameError(message: "TLS handshake failed: \(String(cString: ERR_error_string(ERR_get_error(), nil)))")
        }
        var selected: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(connection, &selected, &length)
        guard let selected, length == 2, selected[0] == 0x68, selected[1] == 0x32 else {
            throw RawFrameError(message: "the server did not select ALPN h2")
        }
    }

    /// Whether the frames go over TLS.
    var isTLS: Bool { ssl != nil }

    deinit {
        if let ssl { SSL_free(ssl) }
        if let sslContext { SSL_CTX_free(sslContext) }
        close(fd)
    }

    /// Sends raw bytes; false when the server already closed.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                if let ssl { return Int(SSL_write(ssl, raw.baseAddress! + sent, Int32(raw.count - sent))) }
                return Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// The bytes of one frame.
    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        frame(type, flags: flags, stream: stream, length: payload.count, payload)
    }

    /// The bytes of one frame whose header states `length` (for frames that lie).
    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, length: Int, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
        out += [UInt8(stream >> 24 & 0xff), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
        return out + payload
    }

    /// Sends a frame.
    @discardableResult
    func send(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> Bool {
        send(Self.frame(type, flags: flags, stream: stream, payload))
    }

    /// The connection preface and an empty SETTINGS, then waits for the
    /// server's SETTINGS and acknowledges it.
    func handshake() throws {
        send(Self.preface + Self.frame(4))
        while true {
            switch next(timeout: 5) {
            case .frame(let f) where f.type == 4 && f.flags & 1 == 0:
                send(4, flags: 1)
                return
            case .frame:
                continue
            case let other:
                throw RawFrameError(message: "no SETTINGS from the server: \(other)")
            }
        }
    }

    /// The next frame, or why there is none.
    func next(timeout: Double) -> Event {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if buffer.count >= 9 {
                let length = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
                if buffer.count >= 9 + length {
                    var stream = UInt32(buffer[5] & 0x7f) << 24
                    stream |= UInt32(buffer[6]) << 16 | UInt32(buffer[7]) << 8 | UInt32(buffer[8])
                    let f = Frame(type: buffer[3], flags: buffer[4], stream: stream, payload: Array(buffer[9..<9 + length]))
                    buffer.removeFirst(9 + length)
                    received.append(f)
                    return .frame(f)
                }
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return .timedOut }
            let decrypted = ssl.map { SSL_pending($0) > 0 } ?? false
            if !decrypted {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, Int32(left * 1000) + 1) <= 0 { continue }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            if let ssl {
                let n = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress!, Int32($0.count)) }
                if n <= 0 {
                    let error = SSL_get_error(ssl, n)
                    if error == SSL_ERROR_WANT_READ { continue }  // a record without data
                    return .closed
                }
                buffer += chunk[..<Int(n)]
                continue
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return .closed }
            buffer += chunk[..<n]
        }
    }

    static func typeName(_ type: UInt8) -> String {
        let names = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]
        return Int(type) < names.count ? names[Int(type)] : "type \(type)"
    }

    // MARK: - HPACK (RFC 7541), encoding only: literals without indexing

    /// An HPACK integer with an `prefix`-bit prefix and `first` high bits.
    static func hpackInteger(_ value: Int, prefix: Int, first: UInt8 = 0) -> [UInt8] {
        let max = (1 << prefix) - 1
        if value < max { return [first | UInt8(value)] }
        var out = [first | UInt8(max)]
        var v = value - max
        while v >= 128 {
            out.append(UInt8(v % 128 + 128))
            v /= 128
        }
        out.append(UInt8(v))
        return out
    }

    /// A header block of literal fields without indexing, new names, no
    /// Huffman coding (RFC 7541 §6.2.2).
    static func headerBlock(_ headers: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in headers {
            out.append(0)
            out += hpackInteger(name.utf8.count, prefix: 7) + Array(name.utf8)
            out += hpackInteger(value.utf8.count, prefix: 7) + Array(value.utf8)
        }
        return out
    }

    /// The headers of a gRPC health check, plus `extra`.
    static func grpcRequest(path: String = "/grpc.health.v1.Health/Check", _ extra: [(String, String)] = []) -> [(String, String)] {
        [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
         ("content-type", "application/grpc"), ("te", "trailers")] + extra
    }

    /// The empty gRPC message (a HealthCheckRequest for the server).
    static let emptyMessage: [UInt8] = [0, 0, 0, 0, 0]
}

struct RawFrameError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
