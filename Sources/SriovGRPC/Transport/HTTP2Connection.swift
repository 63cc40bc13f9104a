import CNGHTTP2
import COpenSSL
import CSriovShims
import Glibc
import Synchronization

/// Live-object counters of one server, for leak tests: both go back to zero
/// once its connections and calls are gone (their deinit frees the SSL and
/// nghttp2 objects).
final class LiveCounters: Sendable {
    let connections = Atomic<Int>(0)
    let streams = Atomic<Int>(0)
}

/// The socket, TLS and nghttp2-session plumbing shared by server and client
/// connections: handshake, reading into `nghttp2_session_mem_recv`, and
/// writing what `nghttp2_session_mem_send` produces, gathered into large
/// writes. Confined to one ``EventLoop``.
///
/// `@unchecked Sendable`: instances are touched only on their loop thread;
/// other threads capture them only to hand work to `loop.execute`.
class HTTP2Connection: EventLoopSelectable, EventLoopFlushable, @unchecked Sendable {
    enum State { case handshaking, active, closed }

    let loop: EventLoop
    let fd: Int32
    var ssl: OpaquePointer?
    var session: OpaquePointer?
    var state: State = .handshaking
    let isServer: Bool
    private var pendingOut: [UInt8] = []
    private var pendingOffset = 0
    private var epollOut = false
    private var flushScheduled = false
    let createdAt = Monotonic.now()
    var lastActivity = Monotonic.now()
    /// Why the connection closed or failed, for logs and errors.
    var failure: String?
    private var keepaliveTimer: UInt64?
    private var pingAckTimer: UInt64?
    /// The context the connection's TLS session was made from.
    let tlsContext: TLSContext?
    /// Why ``verifyPeer(_:)`` refused the peer's certificate, for the
    /// handshake's failure message.
    var peerRefusal: String?

    init(loop: EventLoop, fd: Int32, tls: TLSContext?, isServer: Bool) throws {
        self.loop = loop
        self.fd = fd
        self.isServer = isServer
        self.tlsContext = tls
        if let tls {
            guard let ssl = SSL_new(tls.ctx) else { throw TLSError.drain("creating a session") }
            SSL_set_fd(ssl, fd)
            self.ssl = ssl
            // For the certificate check, which runs inside SSL_accept on
            // this connection's loop while the loop holds the connection.
            SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }
        if let session { nghttp2_session_del(session) }
    }

    /// Starts I/O on the loop thread.
    func activate() {
        if connecting {
            epollOut = true
            loop.register(fd: fd, events: EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue, handler: self)
            return
        }
        loop.register(fd: fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, handler: self)
        if ssl == nil {
            state = .active
            handshakeCompleted()
            scheduleFlush()
        } else {
            if !isServer { driveHandshake() }
        }
    }

    // MARK: - keepalive PINGs

    // The timer closures hold the connection strongly (a weak reference
    // would slow every retain and release of it); `fail` cancels them.

    /// Runs `tick` after `delay` nanoseconds, replacing a pending tick.
    func scheduleKeepalive(after delay: UInt64, _ tick: @escaping () -> Void) {
        if let t = keepaliveTimer { loop.cancelTimer(t) }
        keepaliveTimer = loop.schedule(after: delay) { [self] in
            keepaliveTimer = nil
            tick()
        }
    }

    /// Sends a PING unless one is outstanding; when its ACK does not come
    /// within `timeout`, runs `onTimeout`. Returns whether a PING went out.
    @discardableResult
    func sendKeepalivePing(timeout: Duration, onTimeout: @escaping () -> Void) -> Bool {
        guard pingAckTimer == nil, state == .active, let session else { return false }
        nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
        scheduleFlush()
        pingAckTimer = loop.schedule(after: nanos(timeout)) { [self] in
            pingAckTimer = nil
            onTimeout()
        }
        return true
    }

    /// A PING ACK arrived.
    func keepalivePingAcknowledged() {
        if let t = pingAckTimer {
            loop.cancelTimer(t)
            pingAckTimer = nil
        }
    }

    /// Stops keepalive: no more ticks, no pending ACK deadline.
    func stopKeepalive() {
        for t in [keepaliveTimer, pingAckTimer] { if let t { loop.cancelTimer(t) } }
        keepaliveTimer = nil
        pingAckTimer = nil
    }

    // MARK: - subclass hooks

    /// TLS is up (or plaintext): create the nghttp2 session and send SETTINGS.
    func handshakeCompleted() {}
    /// The connection is gone; fail every stream.
    func connectionClosed() {}
    /// The peer's certificate chain verified; whether its leaf (an `X509*`)
    /// is acceptable too. Runs during the handshake; a refusal sets
    /// ``peerRefusal``.
    func verifyPeer(_ leaf: OpaquePointer) -> Bool { true }

    // MARK: - events

    /// Application bytes arrived after the handshake.
    var receivedData = false

    /// Client: a non-blocking connect is in progress.
    var connecting = false

    func handleEvents(_ events: UInt32) {
        if state == .closed { return }
        if connecting {
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 || events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
                fail("connect: \(String(cString: strerror(err == 0 ? ECONNREFUSED : err)))")
                return
            }
            connecting = false
            if ssl == nil {
                state = .active
                setInterest(out: false)
                handshakeCompleted()
                scheduleFlush()
                return
            }
        }
        if state == .handshaking {
            driveHandshake()
            return
        }
        if events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 {
            readAvailable()
        }
        if state == .active && events & EPOLLOUT.rawValue != 0 {
            flushNow()
        }
    }

    private func driveHandshake() {
        guard let ssl else { return }
        CSriovShims_ERR_clear_error()
        let r = isServer ? SSL_accept(ssl) : SSL_connect(ssl)
        if r == 1 {
            if CSriovShims_SSL_alpn_is_h2(ssl) == 0 {
                fail("TLS handshake: the peer did not negotiate ALPN h2")
                return
            }
            state = .active
            lastActivity = Monotonic.now()
            setInterest(out: false)
            handshakeCompleted()
            if state == .active {
                readAvailable()
                scheduleFlush()
            }
            return
        }
        let err = SSL_get_error(ssl, r)
        switch err {
        case SSL_ERROR_WANT_READ: setInterest(out: false)
        case SSL_ERROR_WANT_WRITE: setInterest(out: true)
        default:
            var reason = TLSError.drain("handshake").reason
            if let refusal = peerRefusal {
                reason = "client certificate refused: \(refusal)"
            } else if let v = CSriovShims_SSL_verify_error(ssl) {
                reason = "certificate verification failed: \(String(cString: v)) (\(reason))"
            }
            if err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN, reason.hasPrefix("unknown") {
                reason = "the peer closed the connection during the handshake"
            }
            fail("TLS handshake: \(reason)")
        }
    }

    private func setInterest(out: Bool) {
        guard out != epollOut, state != .closed else { return }
        epollOut = out
        loop.modify(fd: fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (out ? EPOLLOUT.rawValue : 0))
    }

    private func readAvailable() {
        let buffer = loop.readBuffer
        while state == .active {
            var n: Int
            if let ssl {
                CSriovShims_ERR_clear_error()
                n = Int(SSL_read(ssl, buffer.baseAddress, Int32(buffer.count)))
                if n <= 0 {
                    let err = SSL_get_error(ssl, Int32(n))
                    if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE { break }
                    if err == SSL_ERROR_SSL {
                        fail("TLS read: \(TLSError.drain("read").reason)")
                    } else {
                        ioFailed()
                    }
                    return
                }
            } else {
                n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n < 0 {
                    if errno == EAGAIN || errno == EINTR { break }
                    fail(nil)
                    return
                }
                if n == 0 { fail(nil); return }
            }
            lastActivity = Monotonic.now()
            receivedData = true
            guard let session else { return }
            let rv = receive(session, UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
            if rv < 0 {
                // nghttp2 queued a GOAWAY where it could; send it, then close.
                failure = failure ?? "HTTP/2: \(String(cString: nghttp2_strerror(Int32(rv))))"
                flushNow()
                fail(failure)
                return
            }
            if ssl == nil && n < buffer.count { break }
        }
        scheduleFlush()
    }

    /// Asks for a flush at the end of the loop iteration.
    func scheduleFlush() {
        if !flushScheduled && state == .active {
            flushScheduled = true
            loop.scheduleFlush(self)
        }
    }

    func flushNow() {
        flushScheduled = false
        guard state == .active, let session else { return }
        if pendingOffset < pendingOut.count {
            let done = pendingOut.withUnsafeBytes { raw in
                writeAll(raw.baseAddress! + pendingOffset, raw.count - pendingOffset)
            }
            if done < 0 { ioFailed(); return }
            pendingOffset += done
            if pendingOffset < pendingOut.count { setInterest(out: true); return }
            pendingOut = []
            pendingOffset = 0
        }
        var gather = loop.gatherBuffer
        loop.gatherBuffer = []
        defer {
            gather.removeAll(keepingCapacity: true)
            loop.gatherBuffer = gather
        }
        while true {
            var ptr: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &ptr)
            if n < 0 { fail("HTTP/2 send: \(String(cString: nghttp2_strerror(Int32(n))))"); return }
            if n > 0, let ptr { gather.append(contentsOf: UnsafeBufferPointer(start: ptr, count: n)) }
            if n == 0 || gather.count >= 65_536 {
                if gather.isEmpty { break }
                let written = gather.withUnsafeBytes { writeAll($0.baseAddress!, $0.count) }
                if written < 0 { ioFailed(); return }
                if written < gather.count {
                    pendingOut = Array(gather[written...])
                    pendingOffset = 0
                    setInterest(out: true)
                    return
                }
                gather.removeAll(keepingCapacity: true)
                if n == 0 { break }
            }
        }
        setInterest(out: false)
        if nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0 {
            fail(nil)
        }
    }

    /// Writes as much as the socket takes: the count, or -1 on a fatal error.
    private func writeAll(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        var done = 0
        while done < count {
            if let ssl {
                CSriovShims_ERR_clear_error()
                let r = SSL_write(ssl, base + done, Int32(min(count - done, Int(Int32.max))))
                if r <= 0 {
                    let err = SSL_get_error(ssl, r)
                    if err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ { return done }
                    return -1
                }
                done += Int(r)
            } else {
                let r = Glibc.write(fd, base + done, count - done)
                if r < 0 {
                    if errno == EAGAIN || errno == EINTR { return done }
                    return -1
                }
                done += r
            }
        }
        return done
    }

    /// The peer closed or reset the socket.
    private func ioFailed() {
        if !isServer && ssl != nil && !receivedData {
            // TLS 1.3 clients finish the handshake before the server has
            // checked their certificate; a refusal shows up as a close.
            fail("TLS: the server closed the connection right after the handshake, before any HTTP/2 data (was the client certificate refused?)")
        } else {
            fail(nil)
        }
    }

    /// Hands received bytes to the nghttp2 session: what
    /// `nghttp2_session_mem_recv` returns (negative on a connection error).
    /// The server looks at frame headers on the way.
    func receive(_ session: OpaquePointer, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        nghttp2_session_mem_recv(session, bytes.baseAddress, bytes.count)
    }

    /// Closes the connection now (on the loop thread).
    func fail(_ reason: String?) {
        guard state != .closed else { return }
        if failure == nil { failure = reason }
        state = .closed
        stopKeepalive()
        loop.deregister(fd: fd)
        if let ssl, reason == nil { SSL_shutdown(ssl) }
        Glibc.close(fd)
        connectionClosed()
    }
}

/// Builds `nghttp2_nv` arrays over one contiguous byte buffer.
enum HeaderBlock {
    static func with<R>(_ headers: [(String, String)], _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        var bytes: [UInt8] = []
        var spans: [(Int, Int, Int, Int)] = []
        spans.reserveCapacity(headers.count)
        for (k, v) in headers {
            let ks = bytes.count
            bytes.append(contentsOf: k.utf8)
            let vs = bytes.count
            bytes.append(contentsOf: v.utf8)
            spans.append((ks, vs - ks, vs, bytes.count - vs))
        }
        if bytes.isEmpty { bytes.append(0) }
        return bytes.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            var nvs = spans.map { s in
                nghttp2_nv(name: base + s.0, value: base + s.2, namelen: s.1, valuelen: s.3, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nvs.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
