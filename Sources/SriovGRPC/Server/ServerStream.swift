import CNGHTTP2
import Glibc

/// One gRPC call on a server connection: request headers, inbound
/// messages, queued response bytes and the final status. Loop-confined.
///
/// `@unchecked Sendable`: touched only on its connection's loop thread;
/// handler tasks capture it only inside closures passed to `loop.execute`.
final class ServerStream: @unchecked Sendable {
    let id: Int32
    /// Strong: the cycle through `connection.streams` ends when the stream closes.
    let connection: ServerConnection

    // Request headers.
    var method = ""
    var path = ""
    var contentType = ""
    var contentTypeIsGRPC = false
    /// The request's `content-length`, when it declared one.
    var declaredContentLength: Int?
    var timeout: String?
    var userAgent: String?
    var requestEncoding: String?
    var acceptEncoding: String?
    var metadata = Metadata()
    var headerBytes = 0
    var headerError: String?

    // Call state.
    var route: ServerRoute?
    var metricsCell: ServerMetrics.Cell?
    var deframer: MessageDeframer
    var inbound: MessageQueue?
    var inlineRequest: [UInt8]?
    var requestMessages = 0
    /// The client ended the request stream (END_STREAM received).
    var requestFinished = false
    var heldBackCredit = 0
    var task: Task<Void, Never>?
    var deadlineTimer: UInt64?
    var started: UInt64 = 0
    var context: ServerContext?

    // Response state.
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var gate: OutboundGate?
    /// How response messages are framed (gzip when negotiated).
    var responseCompression = MessageCompression.none
    var headersSent = false
    var dataDeferred = false
    var pendingStatus: RPCStatus?
    /// The status went out (or the stream was reset): nothing more to send.
    var done = false
    var closed = false

    init(id: Int32, connection: ServerConnection, maxMessageSize: Int) {
        self.id = id
        self.connection = connection
        self.deframer = MessageDeframer(maxMessageSize: maxMessageSize)
        connection.server.live.streams.add(1, ordering: .relaxed)
    }

    deinit { connection.server.live.streams.subtract(1, ordering: .relaxed) }

    var session: OpaquePointer { connection.session! }

    // MARK: - sending

    /// Appends framed bytes and wakes the data provider.
    func enqueue(_ bytes: [UInt8]) {
        guard !done, !closed else {
            gate?.release(bytes.count)
            return
        }
        if outboundOffset == outbound.count {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 16_384)
            outboundOffset = 0
        }
        outbound.append(contentsOf: bytes)
        startResponseIfNeeded()
        resume()
    }

    /// Ends the call with `status`: after queued messages, as trailers; or
    /// trailers-only when nothing was sent.
    func finish(_ status: RPCStatus) {
        guard !done, !closed, pendingStatus == nil else { return }
        if !headersSent && outboundOffset == outbound.count {
            sendTrailersOnly(status)
            return
        }
        pendingStatus = status
        startResponseIfNeeded()
        resume()
    }

    private func resume() {
        if dataDeferred {
            dataDeferred = false
            nghttp2_session_resume_data(session, id)
        }
        connection.scheduleFlush()
    }

    private func startResponseIfNeeded() {
        guard !headersSent else { return }
        headersSent = true
        connection.resetPingStrikes()
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: serverDataRead)
        let blocks = connection.server.responseHeaderBlocks
        let block = responseCompression.algorithm == .gzip ? blocks.gzip : blocks.identity
        let rv = nghttp2_submit_response(session, id, block.nva, block.count, &provider)
        if rv != 0 { connection.resetStream(self, code: NGHTTP2_INTERNAL_ERROR.rawValue) }
    }


    private func sendTrailersOnly(_ status: RPCStatus) {
        headersSent = true
        markDone(status)
        var headers = connection.server.responseHeaders
        headers.append(contentsOf: statusHeaders(status))
        let rv = HeaderBlock.with(headers) { nva, n in
            nghttp2_submit_response(session, id, nva, n, nil)
        }
        if rv != 0 { connection.resetStream(self, code: NGHTTP2_INTERNAL_ERROR.rawValue) }
        connection.scheduleFlush()
    }

    func statusHeaders(_ status: RPCStatus) -> [(String, String)] {
        var headers = [("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty { headers.append(("grpc-message", PercentEncoding.encode(status.message))) }
        if !status.trailers.isEmpty {
            if let extra = try? status.trailers.wireHeaders() { headers.append(contentsOf: extra) }
        }
        return headers
    }

    /// Called by the data provider once the queued bytes are out.
    func submitTrailers() {
        guard let status = pendingStatus else { return }
        markDone(status)
        let rv: Int32
        if status.code == .ok && status.message.isEmpty && status.trailers.isEmpty {
            rv = nghttp2_submit_trailer(session, id, StaticHeaderBlock.okTrailers.nva, StaticHeaderBlock.okTrailers.count)
        } else {
            rv = HeaderBlock.with(statusHeaders(status)) { nva, n in
                nghttp2_submit_trailer(session, id, nva, n)
            }
        }
        if rv != 0 { connection.resetStream(self, code: NGHTTP2_INTERNAL_ERROR.rawValue) }
    }

    private func markDone(_ status: RPCStatus) {
        done = true
        if let t = deadlineTimer {
            connection.loop.cancelTimer(t)
            deadlineTimer = nil
        }
        connection.server.callFinished(metricsCell, code: status.code, started: started)
        gate?.fail(RPCError(code: .cancelled, message: "the call has already ended with \(status.code)"))
    }

    /// The data provider's read: copy queued bytes; at the end, trailers.
    func read(into buf: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        let available = outbound.count - outboundOffset
        var n = 0
        if available > 0 {
            n = min(available, length)
            _ = outbound.withUnsafeBytes { raw in
                memcpy(buf, raw.baseAddress! + outboundOffset, n)
            }
            outboundOffset += n
            gate?.release(n)
        }
        if outboundOffset == outbound.count {
            if pendingStatus != nil && !done {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue | NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                submitTrailers()
                return n
            }
            if n == 0 {
                dataDeferred = true
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return n
    }

    // MARK: - lifecycle

    /// The stream is gone (END_STREAM both ways, or RST_STREAM).
    func streamClosed(errorCode: UInt32) {
        closed = true
        if let t = deadlineTimer {
            connection.loop.cancelTimer(t)
            deadlineTimer = nil
        }
        if !done {
            done = true
            let cancelled = RPCError(code: .cancelled, message: "the client cancelled the call (RST_STREAM \(errorCode))")
            inbound?.fail(cancelled)
            gate?.fail(cancelled)
            task?.cancel()
            connection.server.callFinished(metricsCell, code: .cancelled, started: started)
        }
        task = nil
    }

    /// The deadline passed: DEADLINE_EXCEEDED to the client, cancel the handler.
    func deadlineExpired() {
        deadlineTimer = nil
        guard !done, !closed else { return }
        let e = RPCError(code: .deadlineExceeded, message: "the deadline of \(timeout ?? "?") expired")
        inbound?.fail(e)
        task?.cancel()
        outbound.removeAll()
        outboundOffset = 0
        pendingStatus = nil
        if headersSent {
            pendingStatus = RPCStatus(code: .deadlineExceeded, message: e.message)
            resume()
        } else {
            sendTrailersOnly(RPCStatus(code: .deadlineExceeded, message: e.message))
        }
    }
}

/// `nghttp2_data_source_read_callback` of every server stream.
let serverDataRead: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, user in
    let connection = Unmanaged<ServerConnection>.fromOpaque(user!).takeUnretainedValue()
    guard let stream = connection.stream(streamID), let buf, let flags else {
        return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    }
    return stream.read(into: buf, length: length, flags: flags)
}

/// Header blocks sent on every call, built once with storage that lives as
/// long as the block (nghttp2 is told not to copy them; a server outlives
/// its sessions).
///
/// `@unchecked Sendable`: immutable after creation.
final class StaticHeaderBlock: @unchecked Sendable {
    let nva: UnsafeMutablePointer<nghttp2_nv>
    let count: Int

    init(_ headers: [(String, String)]) {
        count = headers.count
        nva = .allocate(capacity: headers.count)
        for (i, (k, v)) in headers.enumerated() {
            let kb = Array(k.utf8), vb = Array(v.utf8)
            let kp = UnsafeMutablePointer<UInt8>.allocate(capacity: kb.count)
            kp.initialize(from: kb, count: kb.count)
            let vp = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, vb.count))
            vp.initialize(from: vb, count: vb.count)
            nva[i] = nghttp2_nv(
                name: kp, value: vp, namelen: kb.count, valuelen: vb.count,
                flags: UInt8(NGHTTP2_NV_FLAG_NO_COPY_NAME.rawValue | NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue))
        }
    }

    deinit {
        for i in 0..<count {
            nva[i].name.deallocate()
            nva[i].value.deallocate()
        }
        nva.deallocate()
    }

    /// The response HEADERS of one server: identity and gzip.
    static func responseBlocks(_ headers: [(String, String)]) -> (identity: StaticHeaderBlock, gzip: StaticHeaderBlock) {
        (StaticHeaderBlock(headers), StaticHeaderBlock(headers + [("grpc-encoding", "gzip")]))
    }
    static let okTrailers = StaticHeaderBlock([("grpc-status", "0")])
}

/// Header names and values matched on bytes, against static strings (no
/// lazy globals on the per-header path).
enum HeaderBytes {
    @inline(__always)
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: StaticString) -> Bool {
        a.count == b.utf8CodeUnitCount && a.count > 0 && memcmp(a.baseAddress!, b.utf8Start, a.count) == 0
    }
}

/// The last String made from one header's values on a connection: a client
/// sends the same user-agent on every call, and mostly the same `:path`, so
/// the String is made once instead of per call.
struct InternedHeaderValue {
    private var bytes: [UInt8] = []
    private var value = ""

    mutating func string(for raw: UnsafeBufferPointer<UInt8>) -> String {
        if raw.count == bytes.count, bytes.withUnsafeBufferPointer({ raw.count == 0 || memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }) {
            return value
        }
        bytes = Array(raw)
        value = String(decoding: raw, as: UTF8.self)
        return value
    }
}
