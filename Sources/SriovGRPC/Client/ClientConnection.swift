import CNGHTTP2
import CSriovShims
import Glibc
import Synchronization

/// A client HTTP/2 connection: one nghttp2 client session, the calls on it.
final class ClientConnection: HTTP2Connection, @unchecked Sendable {
    var calls: [Int32: ClientCall] = [:]
    /// Called once on the loop when the connection is ready or failed.
    var onReady: ((ClientConnection, String?) -> Void)?
    /// Called once when the connection closes after being ready.
    var onClosed: ((ClientConnection) -> Void)?
    /// Keepalive PINGs, if configured (set before `activate`).
    var keepalive: ClientKeepalive?
    /// Called when the server answers our PINGs with `too_many_pings`.
    var onTooManyPings: (() -> Void)?
    /// Fails the attempt when the connection is not ready in time.
    var connectTimer: UInt64?
    var ready = false
    var goAwayReceived = false
    /// Whether new calls may use this connection, readable from any thread.
    let usableFlag = Atomic<Bool>(false)
    let authority: String
    let scheme: String
    let userAgent: String
    let maxReceiveMessageSize: Int
    let compression: MessageCompression

    init(loop: EventLoop, fd: Int32, tls: TLSContext?, authority: String, userAgent: String, maxReceiveMessageSize: Int,
         compression: MessageCompression) throws {
        self.authority = authority
        self.scheme = tls == nil ? "http" : "https"
        self.userAgent = userAgent
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.compression = compression
        try super.init(loop: loop, fd: fd, tls: tls, isServer: false)
    }

    override func handshakeCompleted() {
        var session: OpaquePointer?
        nghttp2_session_client_new2(&session, clientCallbacks, Unmanaged.passUnretained(self).toOpaque(), clientOptions)
        self.session = session
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: 1 << 20),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: 16_384),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 16 << 20)
        ready = true
        usableFlag.store(true, ordering: .releasing)
        if let t = connectTimer {
            loop.cancelTimer(t)
            connectTimer = nil
        }
        scheduleKeepalive()
        let r = onReady
        onReady = nil
        r?(self, nil)
    }

    override func connectionClosed() {
        usableFlag.store(false, ordering: .releasing)
        if let t = connectTimer { loop.cancelTimer(t) }
        connectTimer = nil
        if let r = onReady {
            onReady = nil
            r(self, failure ?? "connection closed before it was ready")
        }
        let all = calls
        calls.removeAll()
        for (_, c) in all {
            c.complete(RPCError(code: .unavailable, message: "connection to \(authority) closed\(failure.map { ": \($0)" } ?? "")"))
        }
        let c = onClosed
        onClosed = nil
        c?(self)
    }

    /// Whether new calls may use this connection.
    var usable: Bool { state == .active && ready && !goAwayReceived }

    /// Starts a call: HEADERS now, request bytes from the data provider.
    func start(_ call: ClientCall, path: String, metadata: Metadata, timeout: GRPCTimeout?) {
        guard usable, let session else {
            call.notSent = true
            call.complete(RPCError(code: .unavailable, message: "connection to \(authority) is not usable\(failure.map { ": \($0)" } ?? "")"))
            return
        }
        var headers: [(String, String)] = [
            (":method", "POST"), (":scheme", scheme), (":path", path), (":authority", authority),
            ("content-type", "application/grpc"), ("te", "trailers"), ("user-agent", userAgent),
            ("grpc-accept-encoding", CompressionAlgorithm.acceptHeaderValue),
        ]
        if compression.algorithm != .identity { headers.append(("grpc-encoding", compression.algorithm.rawValue)) }
        if let timeout { headers.append(("grpc-timeout", timeout.headerValue)) }
        do {
            headers.append(contentsOf: try metadata.wireHeaders())
        } catch {
            call.complete(RPCError(code: .internal, message: "\(error)"))
            return
        }
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: clientDataRead)
        let id = HeaderBlock.with(headers) { nva, n in
            nghttp2_submit_request(session, nil, nva, n, &provider, nil)
        }
        if id < 0 {
            call.complete(RPCError(code: .unavailable, message: "could not start the call: \(String(cString: nghttp2_strerror(id)))"))
            return
        }
        call.id = id
        calls[id] = call
        // A reader that drained its queue returns the held-back window. The
        // closure holds the connection only while the call lives.
        call.inbound.setOnDrained { [loop, self] in
            loop.execute { self.releaseCredit(id) }
        }
        if let timeout {
            // Strong captures: `complete` cancels the timer.
            call.deadlineTimer = loop.schedule(after: UInt64(timeout.nanoseconds)) { [self, call] in
                call.deadlineTimer = nil
                self.cancel(call, error: RPCError(code: .deadlineExceeded, message: "the deadline of \(timeout.headerValue) expired"))
            }
        }
        scheduleFlush()
    }

    /// Cancels a call: RST_STREAM CANCEL, and `error` for the caller.
    func cancel(_ call: ClientCall, error: RPCError) {
        guard !call.completed else { return }
        call.complete(error)
        if call.id > 0, state == .active {
            nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), call.id, NGHTTP2_CANCEL.rawValue)
            scheduleFlush()
        }
    }

    func releaseCredit(_ id: Int32) {
        guard let call = calls[id], let session, call.heldBackCredit > 0 else { return }
        nghttp2_session_consume_stream(session, id, call.heldBackCredit)
        call.heldBackCredit = 0
        scheduleFlush()
    }

    // MARK: - keepalive

    private func scheduleKeepalive() {
        guard let k = keepalive else { return }
        scheduleKeepalive(after: nanos(k.interval)) { [self] in keepaliveTick() }
    }

    /// Sends a PING when calls are open (or always, if permitted) and no
    /// PING is outstanding; the connection fails when its ACK is late.
    private func keepaliveTick() {
        guard state == .active, let k = keepalive else { return }
        if !calls.isEmpty || k.permitWithoutCalls {
            sendKeepalivePing(timeout: k.timeout) { [self] in
                fail("keepalive: the server did not acknowledge a PING within \(k.timeout)")
            }
        }
        scheduleKeepalive()
    }

    // MARK: - nghttp2 events

    fileprivate func header(_ id: Int32, _ name: String, _ value: String) {
        guard let call = calls[id] else { return }
        switch name {
        case ":status": call.httpStatus = Int(value)
        case "content-type": call.contentType = value
        case "grpc-status": call.grpcStatus = value
        case "grpc-message": call.grpcMessage = value
        case "grpc-encoding": call.responseEncoding = value
        default:
            try? call.metadata.addWireHeader(name: name, value: value)
        }
    }

    fileprivate func headersComplete(_ id: Int32, endStream: Bool) {
        guard let call = calls[id] else { return }
        call.headerBlocks += 1
        if call.headerBlocks == 1 && !endStream {
            if call.httpStatus != 200 || !HeaderValidation.isGRPCContentType(call.contentType ?? "") {
                let e: RPCError = call.grpcStatus == nil
                    ? RPCError(code: call.httpStatus == 200 ? .unknown : StatusCode(httpStatus: call.httpStatus ?? 0),
                               message: "HTTP status \(call.httpStatus ?? 0), content-type \(call.contentType ?? "none")")
                    : (call.statusFromHeaders() ?? RPCError(code: .internal, message: "unexpected OK"))
                cancel(call, error: e)
                return
            }
            if let e = call.responseEncoding {
                guard let a = CompressionAlgorithm(headerValue: e) else {
                    cancel(call, error: RPCError(code: .internal, message: "the server sent messages in grpc-encoding \"\(e)\", which this client does not support"))
                    return
                }
                call.deframer.encoding = a
            }
            call.initialMetadata = call.metadata
            call.metadata = Metadata()
        }
        if endStream {
            do {
                try call.deframer.finish()
                call.complete(call.statusFromHeaders())
            } catch {
                call.complete(RPCError(code: .internal, message: "\(error)"))
            }
            // The response is complete while the request is not: stop
            // sending what nobody will read (the server may already have
            // reset the stream with NO_ERROR).
            if !(call.halfClosed && call.outboundOffset == call.outbound.count), let session {
                nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2_CANCEL.rawValue)
                scheduleFlush()
            }
        }
    }

    fileprivate func data(_ id: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard let session else { return }
        nghttp2_session_consume_connection(session, bytes.count)
        guard let call = calls[id], !call.completed else {
            nghttp2_session_consume_stream(session, id, bytes.count)
            return
        }
        call.deframer.append(bytes)
        var accepting = true
        do {
            // A compressed message is inflated by the reader, off the loop.
            while let frame = try call.deframer.nextFrame() {
                if !call.inbound.push(frame.payload, compressed: frame.compressed) { accepting = false }
            }
        } catch let e as MessageFramingError {
            nghttp2_session_consume_stream(session, id, bytes.count + call.heldBackCredit)
            call.heldBackCredit = 0
            cancel(call, error: RPCError(code: e.statusCode, message: e.description))
            return
        } catch {}
        if accepting && call.heldBackCredit == 0 {
            nghttp2_session_consume_stream(session, id, bytes.count)
        } else {
            call.heldBackCredit += bytes.count
        }
    }

    fileprivate func streamClosed(_ id: Int32, errorCode: UInt32) {
        guard let call = calls.removeValue(forKey: id) else { return }
        if !call.completed {
            let code: StatusCode
            switch errorCode {
            case NGHTTP2_REFUSED_STREAM.rawValue:
                code = .unavailable
                call.notSent = true
            case NGHTTP2_CANCEL.rawValue: code = .cancelled
            case NGHTTP2_ENHANCE_YOUR_CALM.rawValue: code = .resourceExhausted
            case NGHTTP2_NO_ERROR.rawValue: code = .internal
            default: code = .internal
            }
            call.complete(RPCError(code: code, message: "the server reset the stream (HTTP/2 error \(errorCode))"))
        }
    }

    fileprivate func goAway(errorCode: UInt32, debug: String) {
        goAwayReceived = true
        usableFlag.store(false, ordering: .releasing)
        if !debug.isEmpty || errorCode != 0 {
            failure = "GOAWAY \(errorCode)\(debug.isEmpty ? "" : " \(debug)")"
        }
        if errorCode == NGHTTP2_ENHANCE_YOUR_CALM.rawValue && debug == "too_many_pings" {
            // No more PINGs on this connection; the next one uses twice the interval.
            keepalive = nil
            stopKeepalive()
            onTooManyPings?()
        }
        let c = onClosed
        onClosed = nil
        c?(self)
    }
}

nonisolated(unsafe) let clientOptions: OpaquePointer = {
    var opt: OpaquePointer?
    nghttp2_option_new(&opt)
    nghttp2_option_set_no_auto_window_update(opt, 1)
    nghttp2_option_set_max_continuations(opt, 8)
    return opt!
}()

private func clientConnection(_ user: UnsafeMutableRawPointer?) -> ClientConnection {
    Unmanaged<ClientConnection>.fromOpaque(user!).takeUnretainedValue()
}

nonisolated(unsafe) let clientCallbacks: OpaquePointer = {
    var cbs: OpaquePointer?
    nghttp2_session_callbacks_new(&cbs)
    nghttp2_session_callbacks_set_on_header_callback(cbs, { _, frame, name, namelen, value, valuelen, _, user in
        guard let frame else { return 0 }
        clientConnection(user).header(
            frame.pointee.hd.stream_id,
            String(decoding: UnsafeBufferPointer(start: name, count: namelen), as: UTF8.self),
            String(decoding: UnsafeBufferPointer(start: value, count: valuelen), as: UTF8.self))
        return 0
    })
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, { _, frame, user in
        guard let frame else { return 0 }
        let c = clientConnection(user)
        let endStream = frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(frame.pointee.hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            c.headersComplete(frame.pointee.hd.stream_id, endStream: endStream)
        case NGHTTP2_DATA.rawValue:
            if endStream { c.headersComplete(frame.pointee.hd.stream_id, endStream: true) }
        case NGHTTP2_PING.rawValue:
            if frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_ACK.rawValue) != 0 { c.keepalivePingAcknowledged() }
        case NGHTTP2_GOAWAY.rawValue:
            let g = frame.pointee.goaway
            let debug = g.opaque_data.map { String(decoding: UnsafeBufferPointer(start: $0, count: g.opaque_data_len), as: UTF8.self) } ?? ""
            c.goAway(errorCode: g.error_code, debug: debug)
        default: break
        }
        return 0
    })
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, { _, _, streamID, data, len, user in
        clientConnection(user).data(streamID, UnsafeRawBufferPointer(start: data, count: len))
        return 0
    })
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, { _, streamID, errorCode, user in
        clientConnection(user).streamClosed(streamID, errorCode: errorCode)
        return 0
    })
    return cbs!
}()
