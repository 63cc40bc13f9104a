import CNGHTTP2
import Glibc

/// One call on a client connection: request bytes queued for the data
/// provider, response headers, messages and status. Loop-confined.
///
/// `@unchecked Sendable`: touched only on its connection's loop thread.
final class ClientCall: @unchecked Sendable {
    var id: Int32 = -1
    let connection: ClientConnection
    let inbound: MessageQueue
    let gate: OutboundGate
    var deframer: MessageDeframer
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var halfClosed = false
    var dataDeferred = false
    var heldBackCredit = 0

    // Response.
    var httpStatus: Int?
    var contentType: String?
    var grpcStatus: String?
    var grpcMessage: String?
    var responseEncoding: String?
    var headerBlocks = 0
    var metadata = Metadata()
    var initialMetadata = Metadata()
    var completed = false
    /// The server never saw the call (connection unusable, REFUSED_STREAM):
    /// safe to retry transparently.
    var notSent = false
    var deadlineTimer: UInt64?

    init(connection: ClientConnection, inbound: MessageQueue, gate: OutboundGate, maxMessageSize: Int) {
        self.connection = connection
        self.inbound = inbound
        self.gate = gate
        self.deframer = MessageDeframer(maxMessageSize: maxMessageSize)
    }

    func enqueue(_ bytes: [UInt8], end: Bool) {
        guard !completed else {
            gate.release(bytes.count)
            return
        }
        if outboundOffset == outbound.count {
            outbound.removeAll(keepingCapacity: outbound.capacity <= 16_384)
            outboundOffset = 0
        }
        outbound.append(contentsOf: bytes)
        if end { halfClosed = true }
        if dataDeferred, id > 0 {
            dataDeferred = false
            nghttp2_session_resume_data(connection.session, id)
        }
        connection.scheduleFlush()
    }

    func read(into buf: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        let available = outbound.count - outboundOffset
        var n = 0
        if available > 0 {
            n = min(available, length)
            _ = outbound.withUnsafeBytes { memcpy(buf, $0.baseAddress! + outboundOffset, n) }
            outboundOffset += n
            gate.release(n)
        }
        if outboundOffset == outbound.count {
            if halfClosed {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
                return n
            }
            if n == 0 {
                dataDeferred = true
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return n
    }

    /// Ends the call for the caller with `error`, or OK.
    func complete(_ error: RPCError?) {
        guard !completed else { return }
        completed = true
        if let t = deadlineTimer {
            connection.loop.cancelTimer(t)
            deadlineTimer = nil
        }
        if let error {
            inbound.fail(error)
            gate.fail(error)
        } else {
            inbound.finish()
            gate.fail(RPCError(code: .failedPrecondition, message: "the call has already ended"))
        }
    }

    /// The status carried by the headers received so far.
    func statusFromHeaders() -> RPCError? {
        if let grpcStatus {
            let code = StatusCode(headerValue: grpcStatus)
            if code == .ok { return nil }
            return RPCError(code: code, message: PercentEncoding.decode(grpcMessage ?? ""), metadata: metadata)
        }
        if let httpStatus, httpStatus != 200 {
            return RPCError(code: StatusCode(httpStatus: httpStatus), message: "HTTP status \(httpStatus) without grpc-status")
        }
        return RPCError(code: .internal, message: "the server ended the stream without grpc-status")
    }
}

let clientDataRead: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, user in
    let c = Unmanaged<ClientConnection>.fromOpaque(user!).takeUnretainedValue()
    guard let call = c.calls[streamID], let buf, let flags else {
        return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
    }
    return call.read(into: buf, length: length, flags: flags)
}
