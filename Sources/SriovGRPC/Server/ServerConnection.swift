import CNGHTTP2
import CSriovShims
import Glibc

/// One accepted HTTP/2 connection of a ``GRPCServer``: nghttp2 server
/// session, routing on request HEADERS, keepalive ping policy.
final class ServerConnection: HTTP2Connection, @unchecked Sendable {
    let server: GRPCServer
    let remoteAddress: String
    /// Open streams; read them through ``stream(_:)``.
    private(set) var streams: [Int32: ServerStream] = [:]
    /// The stream looked up last: nghttp2 calls back several times in a row
    /// for one stream (each header, each DATA chunk), so a one-entry cache
    /// saves most dictionary lookups.
    private var cachedID: Int32 = 0
    private var cachedStream: ServerStream?
    var peer: PeerIdentity
    private var pingStrikes = 0
    private var lastPingAt: UInt64 = 0
    /// When the last call ended (or the connection opened): the idle
    /// timeout counts from here, whatever PINGs come and go since.
    private var idleSince = Monotonic.now()
    private var internedPath = InternedHeaderValue()
    private var internedUserAgent = InternedHeaderValue()
    private var internedAcceptEncoding = InternedHeaderValue()
    var draining = false
    /// The identity and remaining validity of the client certificate, set by
    /// ``verifyPeer(_:)`` during the handshake.
    private var verifiedIdentity: SPIFFEIdentity?
    var certificateSecondsLeft: Int64?
    /// The maximum-age timers (GOAWAY, final GOAWAY, close).
    var ageTimers: [UInt64] = []
    /// The server's trust material changed while this connection was still
    /// in its handshake: check the peer again once it is done.
    var reverifyAfterHandshake = false
    /// Frame headers of the received bytes, for ``closedStreams``.
    private var frameScanner = InboundFrameScanner()
    /// STREAM_CLOSED for frames on closed streams (RFC 9113 §5.1).
    var closedStreams = ClosedStreamGuard()

    init(server: GRPCServer, loop: EventLoop, fd: Int32, tls: TLSContext?, remoteAddress: String) throws {
        self.server = server
        self.remoteAddress = remoteAddress
        self.peer = PeerIdentity(identity: nil, address: remoteAddress, isSecure: tls != nil)
        try super.init(loop: loop, fd: fd, tls: tls, isServer: true)
        server.live.connections.add(1, ordering: .relaxed)
    }

    deinit { server.live.connections.subtract(1, ordering: .relaxed) }

    override func verifyPeer(_ leaf: OpaquePointer) -> Bool {
        guard let trustDomain = tlsContext?.configuration.trustDomain else { return false }
        do {
            verifiedIdentity = try PeerCertificate.identity(of: leaf, trustDomain: trustDomain)
            certificateSecondsLeft = PeerCertificate.secondsUntilExpiry(leaf)
            return true
        } catch {
            verifiedIdentity = nil
            peerRefusal = error.description
            server.certificateRefused(self, error)
            return false
        }
    }

    override func handshakeCompleted() {
        if ssl != nil, tlsContext?.configuration.clientAuth == .required {
            guard let identity = verifiedIdentity else {
                // Unreachable while the context's verifier runs; refuse
                // rather than serve a client without an identity.
                fail("TLS handshake: the client certificate was not checked for a SPIFFE ID")
                return
            }
            peer.identity = identity
        }
        if reverifyAfterHandshake {
            reverifyAfterHandshake = false
            if let current = server.currentTLSContext, !reverify(against: current) { return }
        }
        scheduleMaximumAge()
        let limits = server.configuration.limits
        var session: OpaquePointer?
        nghttp2_session_server_new2(&session, serverCallbacks, Unmanaged.passUnretained(self).toOpaque(), server.nghttp2Options)
        self.session = session
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(limits.maxConcurrentStreams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(limits.initialWindowSize)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(limits.maxHeaderListSize)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue), value: 16_384),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        // Open the connection window wide: per-stream windows do the throttling.
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(limits.connectionWindowSize))
        if draining { goAway() }
        if let interval = limits.keepaliveInterval { scheduleKeepalive(after: nanos(interval)) { [self] in keepaliveTick() } }
    }

    override func connectionClosed() {
        for t in ageTimers { loop.cancelTimer(t) }
        ageTimers.removeAll()
        let all = streams
        streams.removeAll()
        cachedStream = nil
        cachedID = 0
        for (_, s) in all { s.streamClosed(errorCode: NGHTTP2_CANCEL.rawValue) }
        server.connectionClosed(self)
    }

    /// Feeds nghttp2 up to each DATA or HEADERS frame header and answers a
    /// frame on a closed stream with RST_STREAM STREAM_CLOSED (see
    /// ``ClosedStreamGuard``).
    override func receive(_ session: OpaquePointer, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var fed = 0
        var scanned = 0
        while scanned < bytes.count {
            let step = frameScanner.scan(UnsafeBufferPointer(rebasing: bytes[scanned...]))
            scanned += step.scanned
            guard let header = step.header,
                  header.type == UInt8(NGHTTP2_DATA.rawValue) || header.type == UInt8(NGHTTP2_HEADERS.rawValue)
            else { continue }
            // nghttp2 must have read every frame before this one.
            let start = max(fed, scanned - 9)
            if start > fed {
                let rv = nghttp2_session_mem_recv(session, bytes.baseAddress! + fed, start - fed)
                if rv < 0 { return rv }
                fed = start
            }
            if closedStreams.isClosedStreamFrame(type: header.type, streamID: header.streamID, session: session) {
                nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), header.streamID, NGHTTP2_STREAM_CLOSED.rawValue)
                closedStreams.sentReset(header.streamID)
            }
        }
        if fed < bytes.count {
            let rv = nghttp2_session_mem_recv(session, bytes.baseAddress! + fed, bytes.count - fed)
            if rv < 0 { return rv }
        }
        return bytes.count
    }

    func resetPingStrikes() { pingStrikes = 0 }

    /// The open stream with `id`, if any.
    @inline(__always)
    func stream(_ id: Int32) -> ServerStream? {
        if id == cachedID, id != 0 { return cachedStream }
        let s = streams[id]
        cachedID = id
        cachedStream = s
        return s
    }

    func resetStream(_ stream: ServerStream, code: UInt32) {
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, code)
        scheduleFlush()
    }

    /// Stops new streams: GOAWAY with the last stream id seen; the
    /// connection closes once its streams are done.
    func goAway() {
        draining = true
        guard state == .active, let session else { return }
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session), NGHTTP2_NO_ERROR.rawValue, nil, 0)
        scheduleFlush()
    }

    /// Cancels every call and closes now (end of the grace period, or a
    /// dead peer).
    func forceClose(reason: String? = nil) {
        if let session, state == .active {
            for (id, s) in streams where !s.done {
                s.task?.cancel()
                nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_CANCEL.rawValue)
            }
            flushNow()
        }
        fail(reason)
    }

    /// Idle and handshake timeouts; called by the server's sweep.
    func sweep(now: UInt64) {
        let limits = server.configuration.limits
        if state == .handshaking, now &- createdAt > limits.handshakeTimeoutNanos {
            fail("TLS handshake did not finish within \(limits.handshakeTimeout)")
        } else if state == .active, streams.isEmpty, let idle = limits.idleTimeoutNanos, now &- idleSince > idle {
            goAway()
        }
    }

    // MARK: - keepalive

    /// PINGs a connection silent for the keepalive interval; closes it when
    /// the ACK does not come within the keepalive timeout.
    private func keepaliveTick() {
        let limits = server.configuration.limits
        guard state == .active, let interval = limits.keepaliveInterval.map(nanos) else { return }
        let silent = Monotonic.now() &- lastActivity
        if silent < interval {
            scheduleKeepalive(after: interval - silent) { [self] in keepaliveTick() }
            return
        }
        let timeout = limits.keepaliveTimeout
        let sent = sendKeepalivePing(timeout: timeout) { [self] in
            server.keepaliveTimedOut(self)
            forceClose(reason: "keepalive: the client did not acknowledge a PING within \(timeout)")
        }
        if sent { server.metrics.keepalivePings.add(1, ordering: .relaxed) }
        scheduleKeepalive(after: interval) { [self] in keepaliveTick() }
    }

    // MARK: - nghttp2 events

    fileprivate func beginHeaders(_ streamID: Int32) {
        let s = ServerStream(id: streamID, connection: self, maxMessageSize: server.configuration.limits.maxReceiveMessageSize)
        streams[streamID] = s
        cachedID = streamID
        cachedStream = s
    }

    fileprivate func header(_ streamID: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let s = stream(streamID) else { return 0 }
        if s.route != nil {
            // Trailers from a client: ignored (gRPC clients send none).
            return 0
        }
        s.headerBytes += name.count + value.count + 32
        if s.headerBytes > server.configuration.limits.maxHeaderListSize {
            s.headerError = "request headers exceed \(server.configuration.limits.maxHeaderListSize) bytes"
            return 0
        }
        // Known headers are matched on bytes (by length first); Strings
        // only where kept, and repeated values reuse the last String.
        if name.first == UInt8(ascii: ":") {
            if HeaderBytes.equal(name, ":path") {
                s.path = internedPath.string(for: value)
            } else if HeaderBytes.equal(name, ":method") {
                s.method = HeaderBytes.equal(value, "POST") ? "POST" : String(decoding: value, as: UTF8.self)
            }
            return 0
        }
        switch name.count {
        case 2 where HeaderBytes.equal(name, "te"):
            return 0
        case 10 where HeaderBytes.equal(name, "user-agent"):
            s.userAgent = internedUserAgent.string(for: value)
            return 0
        case 12 where HeaderBytes.equal(name, "content-type"):
            if HeaderBytes.equal(value, "application/grpc") {
                s.contentType = "application/grpc"
                s.contentTypeIsGRPC = true
            } else {
                s.contentType = String(decoding: value, as: UTF8.self)
                s.contentTypeIsGRPC = HeaderValidation.isGRPCContentType(s.contentType)
            }
            return 0
        case 14 where HeaderBytes.equal(name, "content-length"):
            // Kept as metadata too (below); nghttp2 checks the body against it.
            s.declaredContentLength = Int(String(decoding: value, as: UTF8.self))
        case 13 where HeaderBytes.equal(name, "grpc-encoding"):
            s.requestEncoding = String(decoding: value, as: UTF8.self)
            return 0
        case 20 where HeaderBytes.equal(name, "grpc-accept-encoding"):
            s.acceptEncoding = internedAcceptEncoding.string(for: value)
            return 0
        default:
            break
        }
        let n = String(decoding: name, as: UTF8.self)
        let v = String(decoding: value, as: UTF8.self)
        if n == "grpc-timeout" {
            s.timeout = v
            return 0
        }
        do { try s.metadata.addWireHeader(name: n, value: v) } catch { s.headerError = "\(error)" }
        return 0
    }

    fileprivate func headersComplete(_ streamID: Int32, endStream: Bool) {
        guard let s = stream(streamID) else { return }
        if s.route != nil || s.done {
            if endStream { requestEnded(s) }
            return
        }
        route(s)
        if endStream { requestEnded(s) }
    }

    private func route(_ s: ServerStream) {
        s.started = Monotonic.now()
        if s.method != "POST" {
            respondHTTP(s, status: "405", body: "gRPC requests use POST\n")
            return
        }
        if !s.contentTypeIsGRPC {
            respondHTTP(s, status: "415", body: "content-type \"\(s.contentType)\" is not application/grpc\n")
            return
        }
        if let e = s.headerError {
            s.finish(RPCStatus(code: .internal, message: e))
            return
        }
        guard let (route, cell) = server.routes[s.path] else {
            server.unknownMethod()
            s.finish(RPCStatus(code: .unimplemented, message: "method \(s.path) is not implemented"))
            return
        }
        let compression = server.configuration.compression
        var requestAlgorithm = CompressionAlgorithm.identity
        if let e = s.requestEncoding {
            guard let a = CompressionAlgorithm(headerValue: e), a == .identity || compression.acceptGzip else {
                // The trailers-only response carries grpc-accept-encoding.
                s.finish(RPCStatus(code: .unimplemented, message: "grpc-encoding \"\(e)\" is not supported; this server accepts \(server.acceptEncoding)"))
                return
            }
            requestAlgorithm = a
        }
        s.deframer.encoding = requestAlgorithm
        let wantGzip = compression.responses == .whenAccepted || (compression.responses == .mirrorRequest && requestAlgorithm == .gzip)
        if wantGzip, compression.acceptGzip, let accepted = s.acceptEncoding, CompressionAlgorithm.list(accepted, contains: .gzip) {
            s.responseCompression = .gzip(minimumSize: compression.minimumSize)
        }
        s.route = route
        s.metricsCell = cell
        cell.started()
        var deadline: ContinuousClock.Instant?
        if let t = s.timeout {
            do {
                let timeout = try GRPCTimeout(headerValue: t)
                deadline = ContinuousClock.now + timeout.duration
                let sref = s
                s.deadlineTimer = loop.schedule(after: UInt64(timeout.nanoseconds)) { sref.deadlineExpired() }
            } catch {
                s.finish(RPCStatus(code: .internal, message: "\(error)"))
                return
            }
        }
        let context = ServerContext(path: s.path, peer: peer, metadata: s.metadata, deadline: deadline, userAgent: s.userAgent)
        s.context = context
        guard case .async(let handler) = route.handler else { return }
        let queue = MessageQueue(
            highWater: server.configuration.limits.initialWindowSize, maxMessageSize: server.configuration.limits.maxReceiveMessageSize
        ) { [loop, connection = self, id = s.id] in
            loop.execute { connection.releaseCredit(id) }
        }
        let gate = OutboundGate(highWater: server.configuration.limits.outboundHighWater)
        s.inbound = queue
        s.gate = gate
        let loop = self.loop
        let responseCompression = s.responseCompression
        let writer = RawResponseWriter { [loop] bytes in
            let framed = responseCompression.frame(bytes)
            try await gate.reserve(framed.count)
            loop.execute { s.enqueue(framed) }
        }
        let requests = RawRequestStream(queue: queue)
        s.task = Task {
            let status: RPCStatus
            let final: [UInt8]?
            do {
                let end = try await handler(requests, writer, context)
                final = end.finalMessage.map(responseCompression.frame)
                status = RPCStatus(code: .ok, trailers: end.trailers)
            } catch {
                final = nil
                status = RPCStatus(error: error)
            }
            loop.execute {
                if let final { s.enqueue(final) }
                s.finish(status)
            }
        }
    }

    private func releaseCredit(_ id: Int32) {
        guard let s = stream(id), let session, s.heldBackCredit > 0 else { return }
        nghttp2_session_consume_stream(session, id, s.heldBackCredit)
        s.heldBackCredit = 0
        scheduleFlush()
    }

    private func respondHTTP(_ s: ServerStream, status: String, body: String) {
        s.done = true
        s.outbound = Array(body.utf8)
        s.headersSent = true
        s.pendingStatus = nil
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: { _, streamID, buf, length, flags, _, user in
            let c = Unmanaged<ServerConnection>.fromOpaque(user!).takeUnretainedValue()
            guard let s = c.stream(streamID), let buf, let flags else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            let n = min(length, s.outbound.count - s.outboundOffset)
            _ = s.outbound.withUnsafeBytes { memcpy(buf, $0.baseAddress! + s.outboundOffset, n) }
            s.outboundOffset += n
            if s.outboundOffset == s.outbound.count { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
            return n
        })
        _ = HeaderBlock.with([(":status", status), ("content-type", "text/plain")]) { nva, n in
            nghttp2_submit_response(session, s.id, nva, n, &provider)
        }
        scheduleFlush()
    }

    fileprivate func data(_ streamID: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let session else { return }
        nghttp2_session_consume_connection(session, bytes.count)
        guard let s = stream(streamID) else { return }
        guard s.route != nil, !s.done else {
            nghttp2_session_consume_stream(session, streamID, bytes.count)
            return
        }
        s.deframer.append(bytes)
        var accepting = true
        do {
            while let frame = try s.deframer.nextFrame() {
                s.requestMessages += 1
                if let inbound = s.inbound {
                    // A compressed message is inflated by the handler's task.
                    if !inbound.push(frame.payload, compressed: frame.compressed) { accepting = false }
                } else {
                    if s.requestMessages > 1 {
                        throw RPCError(code: .unimplemented, message: "expected exactly one request message, got more")
                    }
                    // Inline handlers run on the loop anyway.
                    s.inlineRequest = frame.compressed
                        ? try MessageDeframer.inflate(frame.payload, limit: server.configuration.limits.maxReceiveMessageSize)
                        : frame.payload
                }
            }
        } catch let e as MessageFramingError {
            failCall(s, RPCStatus(code: e.statusCode, message: e.description))
            return
        } catch {
            failCall(s, RPCStatus(error: error))
            return
        }
        if accepting && s.heldBackCredit == 0 {
            nghttp2_session_consume_stream(session, streamID, bytes.count)
        } else {
            s.heldBackCredit += bytes.count
        }
    }

    /// Ends a call with an error and stops reading it.
    private func failCall(_ s: ServerStream, _ status: RPCStatus) {
        s.inbound?.fail(RPCError(code: status.code, message: status.message))
        s.task?.cancel()
        s.outbound.removeAll()
        s.outboundOffset = 0
        s.pendingStatus = nil
        s.finish(status)
        // Later request bytes are discarded (see `data`); return held credit.
        if let session { nghttp2_session_consume_stream(session, s.id, s.heldBackCredit) }
        s.heldBackCredit = 0
    }

    fileprivate func requestEnded(_ s: ServerStream) {
        guard s.route != nil, !s.done else { return }
        do {
            try s.deframer.finish()
        } catch let e as MessageFramingError {
            failCall(s, RPCStatus(code: e.statusCode, message: e.description))
            return
        } catch {}
        if let inbound = s.inbound {
            inbound.finish()
            return
        }
        // Inline unary.
        guard case .inline(let handler) = s.route?.handler, let context = s.context else { return }
        guard let request = s.inlineRequest else {
            s.finish(RPCStatus(code: .unimplemented, message: "expected exactly one request message, got none"))
            return
        }
        do {
            let response = try handler(request, context)
            s.enqueue(s.responseCompression.frame(response))
            s.finish(.ok)
        } catch {
            s.finish(RPCStatus(error: error))
        }
    }

    fileprivate func ping() {
        server.metrics.pingsReceived.add(1, ordering: .relaxed)
        let now = Monotonic.now()
        let policy = server.configuration.limits
        if lastPingAt != 0 && now &- lastPingAt < policy.minPingIntervalNanos {
            pingStrikes += 1
            if pingStrikes > policy.maxPingStrikes, let session {
                let debug = Array("too_many_pings".utf8)
                nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nghttp2_session_get_last_proc_stream_id(session), NGHTTP2_ENHANCE_YOUR_CALM.rawValue, debug, debug.count)
                draining = true
            }
        }
        lastPingAt = now
    }

    /// The response's END_STREAM went out. A client still sending (a
    /// request refused early: too large, unknown method, an error) is told
    /// to stop with RST_STREAM NO_ERROR, as HTTP/2 §8.1 allows, instead of
    /// uploading the rest for nothing.
    ///
    /// Except when the request declared a `content-length` the client can
    /// send within the stream's initial window (no WINDOW_UPDATE needed, so
    /// nothing is held up): its body is read to the end, and nghttp2 refuses
    /// a body that disagrees with the declared length with RST_STREAM
    /// PROTOCOL_ERROR (RFC 9113 §8.1.1), which an RST_STREAM NO_ERROR would
    /// have hidden.
    fileprivate func responseEnded(_ streamID: Int32) {
        guard let s = stream(streamID), !s.requestFinished, let session else { return }
        if let length = s.declaredContentLength, length <= server.configuration.limits.initialWindowSize { return }
        nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, NGHTTP2_NO_ERROR.rawValue)
        scheduleFlush()
    }

    fileprivate func streamClosed(_ streamID: Int32, errorCode: UInt32) {
        if cachedID == streamID {
            cachedStream = nil
            cachedID = 0
        }
        guard let s = streams.removeValue(forKey: streamID) else { return }
        if streams.isEmpty { idleSince = Monotonic.now() }
        s.streamClosed(errorCode: errorCode)
    }
}

// MARK: - nghttp2 callbacks

private func connection(_ user: UnsafeMutableRawPointer?) -> ServerConnection {
    Unmanaged<ServerConnection>.fromOpaque(user!).takeUnretainedValue()
}

/// The callbacks of every server session (immutable after creation).
nonisolated(unsafe) let serverCallbacks: OpaquePointer = {
    var cbs: OpaquePointer?
    nghttp2_session_callbacks_new(&cbs)
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, { _, frame, user in
        guard let frame, UInt32(frame.pointee.hd.type) == NGHTTP2_HEADERS.rawValue,
              frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        connection(user).beginHeaders(frame.pointee.hd.stream_id)
        return 0
    })
    nghttp2_session_callbacks_set_on_header_callback(cbs, { _, frame, name, namelen, value, valuelen, _, user in
        guard let frame else { return 0 }
        return connection(user).header(
            frame.pointee.hd.stream_id, name: UnsafeBufferPointer(start: name, count: namelen),
            value: UnsafeBufferPointer(start: value, count: valuelen))
    })
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, { _, frame, user in
        guard let frame else { return 0 }
        let c = connection(user)
        let type = UInt32(frame.pointee.hd.type)
        let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch type {
        case NGHTTP2_HEADERS.rawValue:
            if endStream { c.stream(frame.pointee.hd.stream_id)?.requestFinished = true }
            c.headersComplete(frame.pointee.hd.stream_id, endStream: endStream)
        case NGHTTP2_DATA.rawValue:
            if endStream, let s = c.stream(frame.pointee.hd.stream_id) {
                s.requestFinished = true
                c.requestEnded(s)
            }
        case NGHTTP2_PING.rawValue:
            if frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) == 0 { c.ping() } else { c.keepalivePingAcknowledged() }
        default: break
        }
        return 0
    })
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, { _, _, streamID, data, len, user in
        connection(user).data(streamID, UnsafeRawBufferPointer(start: data, count: len))
        return 0
    })
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, { _, frame, user in
        guard let frame else { return 0 }
        let type = UInt32(frame.pointee.hd.type)
        if type == NGHTTP2_RST_STREAM.rawValue {
            connection(user).closedStreams.sentReset(frame.pointee.hd.stream_id)
            return 0
        }
        guard frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0 else { return 0 }
        if type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue {
            connection(user).responseEnded(frame.pointee.hd.stream_id)
        }
        return 0
    })
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, { _, streamID, errorCode, user in
        connection(user).streamClosed(streamID, errorCode: errorCode)
        return 0
    })
    return cbs!
}()
