import Foundation
import SriovGRPC
import SriovTestSupport
import Testing

/// HTTP/2 conformance of the server, section by section of RFC 9113 (HTTP/2)
/// and RFC 7541 (HPACK), in the manner of the h2spec tool (whose case
/// numbers, from RFC 7540, are given where they differ): a raw frame client
/// sends each case's frames over h2c and over mutual TLS (ALPN h2) to a
/// loopback server with the health service, and the answer must be the one
/// the RFC requires on both.
///
/// Where nghttp2 deliberately differs from the RFC the case pins nghttp2's
/// behaviour and says so (README: HTTP/2 conformance).
@Suite(.timeLimit(.minutes(2)), .serialized)
struct HTTP2ConformanceTests {
    /// HTTP/2 error codes (RFC 9113 §7).
    enum Code: UInt32 {
        case noError = 0, protocolError, internalError, flowControlError, settingsTimeout, streamClosed, frameSizeError,
             refusedStream, cancel, compressionError
    }

    /// What the server must do.
    enum Expect: CustomStringConvertible {
        /// GOAWAY with the code (RFC 9113 §5.4.1).
        case connectionError(Code)
        /// RST_STREAM with the code, or a GOAWAY with it (a connection
        /// error is allowed wherever a stream error is).
        case streamError(Code)
        /// Nothing: no error, and a PING sent after the case is answered.
        case ignored
        /// Stream 1 gets a response that ends it, without an error.
        case response
        /// The connection is closed (with a GOAWAY PROTOCOL_ERROR or
        /// without any frame: the peer does not speak HTTP/2).
        case closed

        var description: String {
            switch self {
            case .connectionError(let c): "connection error \(c)"
            case .streamError(let c): "stream error \(c)"
            case .ignored: "the frames ignored"
            case .response: "a response on stream 1"
            case .closed: "the connection closed"
            }
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        /// The RFC section, e.g. `RFC 9113 §6.5.2` (h2spec numbering after it).
        var section: String
        var name: String
        var expect: Expect
        /// Whether the client starts with the preface and SETTINGS exchange.
        var handshake = true
        /// What the client sends after the handshake.
        var steps: @Sendable (RawFrameClient) throws -> Void

        var testDescription: String { "\(section): \(name)" }
    }

    typealias C = RawFrameClient

    static let request = C.headerBlock(C.grpcRequest())
    /// HEADERS (END_HEADERS) of a health check on `stream`.
    static func headers(_ stream: UInt32, endStream: Bool = false, block: [UInt8] = request) -> [UInt8] {
        C.frame(1, flags: 0x4 | (endStream ? 0x1 : 0), stream: stream, block)
    }
    /// A whole health check on `stream`.
    static func call(_ stream: UInt32) -> [UInt8] {
        headers(stream) + C.frame(0, flags: 0x1, stream: stream, C.emptyMessage)
    }
    static func settings(_ id: UInt16, _ value: UInt32) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xff)] + u32(value)
    }
    /// A literal field "x-h" whose Huffman-coded value is 16 one bits.
    static let hugeHuffmanPadding: [UInt8] = [0x00, 0x03, 0x78, 0x2d, 0x68, 0x82, 0xff, 0xff]
    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// Reads until stream `stream` ends (a frame with END_STREAM or an
    /// RST_STREAM on it).
    static func awaitEnd(of stream: UInt32, _ client: C) throws {
        while true {
            switch client.next(timeout: 5) {
            case .frame(let f) where f.stream == stream && (f.flags & 1 == 1 || f.type == 3):
                return
            case .frame:
                continue
            case let other:
                throw RawFrameError(message: "stream \(stream) did not end: \(other)")
            }
        }
    }

    static let cases: [Case] = [
        // §3.4 (h2spec 3.5): the connection preface.
        Case(section: "RFC 9113 §3.4 (h2spec 3.5 #2)", name: "an invalid connection preface", expect: .closed, handshake: false) { c in
            c.send(Array("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".utf8) + C.frame(4))
        },
        Case(section: "RFC 9113 §3.4 (h2spec 3.5 #1)", name: "the preface and SETTINGS are answered with SETTINGS", expect: .ignored, handshake: false) { c in
            try c.handshake()
        },
        // §4.1: frame format.
        Case(section: "RFC 9113 §4.1 (h2spec 4.1 #1)", name: "a frame of unknown type is ignored", expect: .ignored) { c in
            c.send(0x16, stream: 0, [1, 2, 3, 4])
        },
        Case(section: "RFC 9113 §4.1 (h2spec 4.1 #2)", name: "undefined flags are ignored", expect: .ignored) { c in
            c.send(6, flags: 0x16, stream: 0, Array("unknown!".utf8))
        },
        Case(section: "RFC 9113 §4.1 (h2spec 4.1 #3)", name: "the reserved bit is ignored", expect: .response) { c in
            var bytes = Self.call(1)
            bytes[5] |= 0x80
            c.send(bytes)
        },
        // §4.2: frame size.
        Case(section: "RFC 9113 §4.2 (h2spec 4.2 #1)", name: "DATA of SETTINGS_MAX_FRAME_SIZE (2^14) octets", expect: .response) { c in
            // A 16,379-byte message in one 16,384-byte DATA frame: the
            // health service refuses the unknown fields but answers.
            let body = [UInt8](repeating: 0, count: 16_379)
            c.send(Self.headers(1) + C.frame(0, flags: 1, stream: 1, [0, 0, 0, 0x3f, 0xfb] + body))
        },
        Case(section: "RFC 9113 §4.2 (h2spec 4.2 #2)", name: "DATA over SETTINGS_MAX_FRAME_SIZE", expect: .streamError(.frameSizeError)) { c in
            c.send(Self.headers(1) + C.frame(0, flags: 1, stream: 1, [UInt8](repeating: 0, count: 16_385)))
        },
        Case(section: "RFC 9113 §4.2 (h2spec 4.2 #3)", name: "HEADERS over SETTINGS_MAX_FRAME_SIZE", expect: .connectionError(.frameSizeError)) { c in
            c.send(C.frame(1, flags: 5, stream: 1, Self.request + [UInt8](repeating: 0, count: 16_385)))
        },
        // §4.3: header compression.
        Case(section: "RFC 9113 §4.3 (h2spec 4.3 #1)", name: "an undecodable header block", expect: .connectionError(.compressionError)) { c in
            c.send(C.frame(1, flags: 5, stream: 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
        },
        Case(section: "RFC 9113 §4.3 (h2spec 4.3 #3)", name: "a header block interleaved with another frame", expect: .connectionError(.protocolError)) { c in
            c.send(C.frame(1, flags: 0, stream: 1, Self.request) + C.frame(2, stream: 3, [0, 0, 0, 0, 16]) + C.frame(9, flags: 4, stream: 1, []))
        },
        // §5.1: stream states.
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #1)", name: "idle: DATA", expect: .connectionError(.protocolError)) { c in
            c.send(0, flags: 1, stream: 1, C.emptyMessage)
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #2)", name: "idle: RST_STREAM", expect: .connectionError(.protocolError)) { c in
            c.send(3, stream: 1, Self.u32(8))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #3)", name: "idle: WINDOW_UPDATE", expect: .connectionError(.protocolError)) { c in
            c.send(8, stream: 1, Self.u32(100))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #4)", name: "idle: CONTINUATION", expect: .connectionError(.protocolError)) { c in
            c.send(9, flags: 4, stream: 1, Self.request)
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #5)", name: "half-closed (remote): DATA", expect: .streamError(.streamClosed)) { c in
            c.send(Self.headers(1, endStream: true) + C.frame(0, flags: 1, stream: 1, C.emptyMessage))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #6)", name: "half-closed (remote): HEADERS", expect: .streamError(.streamClosed)) { c in
            c.send(Self.headers(1, endStream: true) + Self.headers(1, endStream: true))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #7)", name: "half-closed (remote): CONTINUATION", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true) + C.frame(9, flags: 4, stream: 1, Self.request))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #8)", name: "closed: DATA after the client's RST_STREAM", expect: .streamError(.streamClosed)) { c in
            c.send(Self.headers(1) + C.frame(3, stream: 1, Self.u32(8)) + C.frame(0, flags: 1, stream: 1, C.emptyMessage))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #9)", name: "closed: HEADERS after the client's RST_STREAM", expect: .streamError(.streamClosed)) { c in
            c.send(Self.headers(1) + C.frame(3, stream: 1, Self.u32(8)) + Self.headers(1, endStream: true))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #10)", name: "closed: CONTINUATION after the client's RST_STREAM", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(1) + C.frame(3, stream: 1, Self.u32(8)) + C.frame(9, flags: 4, stream: 1, Self.request))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #11)", name: "closed: DATA on a stream that ended normally", expect: .streamError(.streamClosed)) { c in
            c.send(Self.call(1))
            try Self.awaitEnd(of: 1, c)
            c.send(0, flags: 1, stream: 1, C.emptyMessage)
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #12)", name: "closed: HEADERS on a stream that ended normally", expect: .streamError(.streamClosed)) { c in
            c.send(Self.call(1))
            try Self.awaitEnd(of: 1, c)
            c.send(Self.headers(1, endStream: true))
        },
        Case(section: "RFC 9113 §5.1 (h2spec 5.1 #13)", name: "closed: CONTINUATION on a stream that ended normally", expect: .connectionError(.protocolError)) { c in
            c.send(Self.call(1))
            try Self.awaitEnd(of: 1, c)
            c.send(9, flags: 4, stream: 1, Self.request)
        },
        Case(section: "RFC 9113 §5.1", name: "closed: DATA in flight after the server's RST_STREAM is ignored", expect: .ignored) { c in
            // The unknown method is refused at once; the server resets the
            // rest of the request with NO_ERROR (§8.1) and must ignore it.
            c.send(C.frame(1, flags: 4, stream: 1, C.headerBlock(C.grpcRequest(path: "/no.Such/Method"))))
            try Self.awaitEnd(of: 1, c)
            c.send(0, flags: 0, stream: 1, C.emptyMessage)
            c.send(0, flags: 1, stream: 1, C.emptyMessage)
        },
        // §5.1.1: stream identifiers.
        Case(section: "RFC 9113 §5.1.1 (h2spec 5.1.1 #1)", name: "an even stream identifier", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(2, endStream: true))
        },
        Case(section: "RFC 9113 §5.1.1 (h2spec 5.1.1 #2)", name: "a lower stream identifier than one already used (nghttp2: a stream error STREAM_CLOSED, not the connection error PROTOCOL_ERROR)", expect: .streamError(.streamClosed)) { c in
            c.send(Self.headers(5, endStream: true) + Self.headers(3, endStream: true))
        },
        // §5.4.1 / §5.5: error handling and extensions.
        Case(section: "RFC 9113 §5.5 (h2spec 5.5 #1)", name: "an unknown extension frame is ignored", expect: .ignored) { c in
            c.send(0xff, flags: 0xff, stream: 0, Array("extension".utf8))
        },
        Case(section: "RFC 9113 §5.5 (h2spec 5.5 #2)", name: "an unknown extension frame in a header block", expect: .connectionError(.protocolError)) { c in
            c.send(C.frame(1, flags: 0, stream: 1, Self.request) + C.frame(0xff, stream: 1, [1]) + C.frame(9, flags: 4, stream: 1, []))
        },
        // §6.1 DATA.
        Case(section: "RFC 9113 §6.1 (h2spec 6.1 #1)", name: "DATA on stream 0", expect: .connectionError(.protocolError)) { c in
            c.send(0, flags: 1, stream: 0, C.emptyMessage)
        },
        Case(section: "RFC 9113 §6.1 (h2spec 6.1 #3)", name: "DATA with a pad length past the payload", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(1) + C.frame(0, flags: 0x9, stream: 1, [10, 0, 0, 0, 0]))
        },
        // §6.2 HEADERS.
        Case(section: "RFC 9113 §6.2 (h2spec 6.2 #2)", name: "HEADERS on stream 0", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(0, endStream: true))
        },
        Case(section: "RFC 9113 §6.2 (h2spec 6.2 #3)", name: "HEADERS with a pad length past the payload", expect: .connectionError(.protocolError)) { c in
            c.send(C.frame(1, flags: 0xd, stream: 1, [255] + Self.request))
        },
        Case(section: "RFC 9113 §6.2 (h2spec 6.2 #1)", name: "HEADERS without END_HEADERS, then CONTINUATION", expect: .response) { c in
            let half = Self.request.count / 2
            c.send(C.frame(1, flags: 0, stream: 1, Array(Self.request[..<half])) + C.frame(9, flags: 4, stream: 1, Array(Self.request[half...]))
                + C.frame(0, flags: 1, stream: 1, C.emptyMessage))
        },
        // §6.3 PRIORITY (deprecated in 9113; still parsed).
        Case(section: "RFC 9113 §6.3 (h2spec 6.3 #1)", name: "PRIORITY on stream 0", expect: .connectionError(.protocolError)) { c in
            c.send(2, stream: 0, [0, 0, 0, 1, 16])
        },
        Case(section: "RFC 9113 §6.3 (h2spec 6.3 #2)", name: "PRIORITY of 4 octets", expect: .streamError(.frameSizeError)) { c in
            c.send(2, stream: 1, [0, 0, 0, 3])
        },
        Case(section: "RFC 9113 §5.3 (h2spec 5.3.1 #1)", name: "a stream depending on itself (HEADERS)", expect: .streamError(.protocolError)) { c in
            c.send(C.frame(1, flags: 0x25, stream: 1, Self.u32(1) + [16] + Self.request))
        },
        // §6.4 RST_STREAM.
        Case(section: "RFC 9113 §6.4 (h2spec 6.4 #1)", name: "RST_STREAM on stream 0", expect: .connectionError(.protocolError)) { c in
            c.send(3, stream: 0, Self.u32(8))
        },
        Case(section: "RFC 9113 §6.4 (h2spec 6.4 #3)", name: "RST_STREAM of 3 octets", expect: .connectionError(.frameSizeError)) { c in
            c.send(Self.headers(1))
            c.send(3, stream: 1, [0, 0, 8])
        },
        // §6.5 SETTINGS.
        Case(section: "RFC 9113 §6.5 (h2spec 6.5 #1)", name: "SETTINGS ACK with a payload", expect: .connectionError(.frameSizeError)) { c in
            c.send(4, flags: 1, stream: 0, Self.settings(3, 100))
        },
        Case(section: "RFC 9113 §6.5 (h2spec 6.5 #2)", name: "SETTINGS on a stream", expect: .connectionError(.protocolError)) { c in
            c.send(4, stream: 1, Self.settings(3, 100))
        },
        Case(section: "RFC 9113 §6.5 (h2spec 6.5 #3)", name: "SETTINGS of 3 octets", expect: .connectionError(.frameSizeError)) { c in
            c.send(4, stream: 0, [0, 3, 0])
        },
        Case(section: "RFC 9113 §6.5.2 (h2spec 6.5.2 #1)", name: "SETTINGS_ENABLE_PUSH 2", expect: .connectionError(.protocolError)) { c in
            c.send(4, stream: 0, Self.settings(2, 2))
        },
        Case(section: "RFC 9113 §6.5.2 (h2spec 6.5.2 #2)", name: "SETTINGS_INITIAL_WINDOW_SIZE 2^31", expect: .connectionError(.flowControlError)) { c in
            c.send(4, stream: 0, Self.settings(4, 1 << 31))
        },
        Case(section: "RFC 9113 §6.5.2 (h2spec 6.5.2 #3)", name: "SETTINGS_MAX_FRAME_SIZE below 2^14", expect: .connectionError(.protocolError)) { c in
            c.send(4, stream: 0, Self.settings(5, 16_383))
        },
        Case(section: "RFC 9113 §6.5.2 (h2spec 6.5.2 #4)", name: "SETTINGS_MAX_FRAME_SIZE above 2^24-1", expect: .connectionError(.protocolError)) { c in
            c.send(4, stream: 0, Self.settings(5, 1 << 24))
        },
        Case(section: "RFC 9113 §6.5.2 (h2spec 6.5.2 #5)", name: "an unknown setting is ignored", expect: .ignored) { c in
            c.send(4, stream: 0, Self.settings(0xff, 1))
        },
        Case(section: "RFC 9113 §6.9.2 (h2spec 6.9.2 #3)", name: "SETTINGS_INITIAL_WINDOW_SIZE that overflows an open stream's window (nghttp2: a stream error FLOW_CONTROL_ERROR, not a connection error)", expect: .streamError(.flowControlError)) { c in
            c.send(Self.headers(1))
            c.send(8, stream: 1, Self.u32(0x7fff_ffff - 65_535))
            c.send(4, stream: 0, Self.settings(4, 65_536))
        },
        // §6.6 PUSH_PROMISE.
        Case(section: "RFC 9113 §6.6, §8.4 (h2spec 8.2 #1)", name: "PUSH_PROMISE from a client", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(1))
            c.send(5, flags: 4, stream: 1, Self.u32(2) + Self.request)
        },
        // §6.7 PING.
        Case(section: "RFC 9113 §6.7 (h2spec 6.7 #2)", name: "a PING ACK is not answered", expect: .ignored) { c in
            c.send(6, flags: 1, stream: 0, Array("unsolici".utf8))
        },
        Case(section: "RFC 9113 §6.7 (h2spec 6.7 #3)", name: "PING on a stream", expect: .connectionError(.protocolError)) { c in
            c.send(6, stream: 1, Array("12345678".utf8))
        },
        Case(section: "RFC 9113 §6.7 (h2spec 6.7 #4)", name: "PING of 6 octets", expect: .connectionError(.frameSizeError)) { c in
            c.send(6, stream: 0, Array("123456".utf8))
        },
        // §6.8 GOAWAY.
        Case(section: "RFC 9113 §6.8 (h2spec 6.8 #1)", name: "GOAWAY on a stream", expect: .connectionError(.protocolError)) { c in
            c.send(7, stream: 1, Self.u32(0) + Self.u32(0))
        },
        // §6.9 WINDOW_UPDATE.
        Case(section: "RFC 9113 §6.9 (h2spec 6.9 #1)", name: "WINDOW_UPDATE of 0 on the connection", expect: .connectionError(.protocolError)) { c in
            c.send(8, stream: 0, Self.u32(0))
        },
        Case(section: "RFC 9113 §6.9 (h2spec 6.9 #2)", name: "WINDOW_UPDATE of 0 on a stream", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1))
            c.send(8, stream: 1, Self.u32(0))
        },
        Case(section: "RFC 9113 §6.9 (h2spec 6.9 #3)", name: "WINDOW_UPDATE of 3 octets", expect: .connectionError(.frameSizeError)) { c in
            c.send(8, stream: 0, [0, 0, 1])
        },
        Case(section: "RFC 9113 §6.9.1 (h2spec 6.9.1 #2)", name: "a connection window past 2^31-1", expect: .connectionError(.flowControlError)) { c in
            c.send(8, stream: 0, Self.u32(0x7fff_ffff))
            c.send(8, stream: 0, Self.u32(0x7fff_ffff))
        },
        Case(section: "RFC 9113 §6.9.1 (h2spec 6.9.1 #3)", name: "a stream window past 2^31-1", expect: .streamError(.flowControlError)) { c in
            c.send(Self.headers(1))
            c.send(8, stream: 1, Self.u32(0x7fff_ffff))
            c.send(8, stream: 1, Self.u32(0x7fff_ffff))
        },
        // §6.10 CONTINUATION.
        Case(section: "RFC 9113 §6.10 (h2spec 6.10 #4)", name: "CONTINUATION after END_HEADERS", expect: .connectionError(.protocolError)) { c in
            c.send(Self.headers(1) + C.frame(9, flags: 4, stream: 1, Self.request))
        },
        Case(section: "RFC 9113 §6.10 (h2spec 6.10 #6)", name: "CONTINUATION on stream 0", expect: .connectionError(.protocolError)) { c in
            c.send(C.frame(1, flags: 0, stream: 1, Self.request) + C.frame(9, flags: 4, stream: 0, []))
        },
        // §8.1: HTTP message exchange.
        Case(section: "RFC 9113 §8.1 (h2spec 8.1 #1)", name: "a second HEADERS without END_STREAM (trailers must end the stream)", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1) + C.frame(0, stream: 1, C.emptyMessage) + Self.headers(1, block: C.headerBlock([("x-trailer", "1")])))
        },
        Case(section: "RFC 9113 §8.1.1 (h2spec 8.1.2.6 #1)", name: "content-length greater than the DATA received", expect: .streamError(.protocolError)) { c in
            c.send(C.frame(1, flags: 4, stream: 1, C.headerBlock([(":method", "POST"), (":scheme", "http"), (":path", "/"), (":authority", "localhost"), ("content-length", "1")])))
            c.send(0, flags: 1, stream: 1, Array("test".utf8))
        },
        Case(section: "RFC 9113 §8.1.1 (h2spec 8.1.2.6 #2)", name: "content-length that the DATA frames exceed", expect: .streamError(.protocolError)) { c in
            c.send(C.frame(1, flags: 4, stream: 1, C.headerBlock([(":method", "POST"), (":scheme", "http"), (":path", "/"), (":authority", "localhost"), ("content-length", "8")])))
            c.send(0, flags: 0, stream: 1, Array("test".utf8))
            c.send(0, flags: 1, stream: 1, Array("test!".utf8))
        },
        Case(section: "RFC 9113 §8.2 (h2spec 8.1.2 #1)", name: "an upper-case field name", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest([("X-Upper", "1")]))))
        },
        Case(section: "RFC 9113 §8.3 (h2spec 8.1.2.1 #1)", name: "an unknown pseudo-header", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest([(":unknown", "1")]))))
        },
        Case(section: "RFC 9113 §8.3 (h2spec 8.1.2.1 #2)", name: "a response pseudo-header in a request", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest([(":status", "200")]))))
        },
        Case(section: "RFC 9113 §8.3 (h2spec 8.1.2.1 #4)", name: "a pseudo-header after a regular field", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock([("x-first", "1")] + C.grpcRequest())))
        },
        Case(section: "RFC 9113 §8.2.2 (h2spec 8.1.2.2 #1)", name: "a connection-specific field", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest([("connection", "keep-alive")]))))
        },
        Case(section: "RFC 9113 §8.2.2 (h2spec 8.1.2.2 #2)", name: "TE other than trailers", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest().filter { $0.0 != "te" } + [("te", "trailers, deflate")])))
        },
        Case(section: "RFC 9113 §8.3.1 (h2spec 8.1.2.3 #1)", name: "an empty :path", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest().map { $0.0 == ":path" ? (":path", "") : $0 })))
        },
        Case(section: "RFC 9113 §8.3.1 (h2spec 8.1.2.3 #2)", name: "no :method", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock(C.grpcRequest().filter { $0.0 != ":method" })))
        },
        Case(section: "RFC 9113 §8.3.1 (h2spec 8.1.2.3 #5)", name: "a duplicated :method", expect: .streamError(.protocolError)) { c in
            c.send(Self.headers(1, endStream: true, block: C.headerBlock([(":method", "POST")] + C.grpcRequest())))
        },
        Case(section: "RFC 9113 §8.1", name: "a gRPC request gets its response", expect: .response) { c in
            c.send(Self.call(1))
        },
        // RFC 7541: HPACK.
        Case(section: "RFC 7541 §2.3.3 (h2spec hpack 2.3.3 #1)", name: "an index past the dynamic table", expect: .connectionError(.compressionError)) { c in
            c.send(C.frame(1, flags: 5, stream: 1, [0xbe] + Self.request))  // indexed field 62: the table is empty
        },
        Case(section: "RFC 7541 §4.2 (h2spec hpack 4.2 #1)", name: "a table size update above SETTINGS_HEADER_TABLE_SIZE", expect: .connectionError(.compressionError)) { c in
            c.send(C.frame(1, flags: 5, stream: 1, C.hpackInteger(4097, prefix: 5, first: 0x20) + Self.request))
        },
        Case(section: "RFC 7541 §4.2", name: "a table size update after the first field", expect: .connectionError(.compressionError)) { c in
            c.send(C.frame(1, flags: 5, stream: 1, Self.request + [0x20]))
        },
        Case(section: "RFC 7541 §5.2 (h2spec hpack 5.2 #1)", name: "Huffman padding longer than 7 bits", expect: .connectionError(.compressionError)) { c in
            // Literal, new name "x-h": a Huffman value of two all-ones bytes.
            c.send(C.frame(1, flags: 5, stream: 1, Self.request + Self.hugeHuffmanPadding))
        },
        Case(section: "RFC 7541 §6.1 (h2spec hpack 6.1 #1)", name: "index 0", expect: .connectionError(.compressionError)) { c in
            c.send(C.frame(1, flags: 5, stream: 1, [0x80] + Self.request))
        },
    ]

    /// The two ways a client speaks HTTP/2 to the server.
    enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Cleartext with prior knowledge.
        case h2c
        /// TLS with ALPN h2 and a client certificate (mutual TLS), as agents
        /// and operators' tools connect.
        case tls

        var testDescription: String { rawValue }
    }

    @Test(arguments: cases, Transport.allCases)
    func conformance(_ testCase: Case, over transport: Transport) async throws {
        let harness = try LoopbackHarness(routes: HealthService().routes, plaintext: transport == .h2c)
        do {
            let client = try C(port: harness.port, tls: transport == .tls ? harness.certs : nil)
            #expect(client.isTLS == (transport == .tls))
            if testCase.handshake { try client.handshake() }
            try testCase.steps(client)
            let verdict = Self.verify(testCase.expect, client)
            #expect(verdict == nil, "\(testCase.section) \(testCase.name) over \(transport): expected \(testCase.expect); \(verdict ?? "")")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// A frame with the name of its error code, for failure messages.
    static func named(_ f: C.Frame) -> String {
        let code = f.errorCode ?? 0
        if let known = Code(rawValue: code) { return "\(f) with \(known)" }
        return "\(f) with code \(code)"
    }

    /// nil when the server did what `expect` says, else what it did.
    static func verify(_ expect: Expect, _ c: C) -> String? {
        let marker = Array("conform!".utf8)
        if case .ignored = expect { c.send(6, stream: 0, marker) }
        while true {
            let event = c.next(timeout: 5)
            if case .closed = expect, case .closed = event { return nil }
            guard case .frame(let f) = event else {
                return "\(event) (received: \(c.received.map(\.description).joined(separator: "; ")))"
            }
            switch (expect, f.type) {
            case (.connectionError(let code), 7):
                return f.errorCode == code.rawValue ? nil : Self.named(f)
            case (.streamError(let code), 3), (.streamError(let code), 7):
                return f.errorCode == code.rawValue ? nil : Self.named(f)
            case (.ignored, 6) where f.flags & 1 == 1 && f.payload == marker:
                return nil
            case (.closed, 7):
                return f.errorCode == Code.protocolError.rawValue ? nil : Self.named(f)
            case (.ignored, 3) where f.errorCode == 0:
                continue  // the server ending a request it answered early (§8.1)
            case (.ignored, 3), (.ignored, 7), (.response, 7):
                return Self.named(f)
            case (.response, 3) where f.stream == 1 && f.errorCode != 0:
                return Self.named(f)
            case (.response, _) where f.stream == 1 && f.flags & 1 == 1:
                return nil
            default:
                continue
            }
        }
    }
}
