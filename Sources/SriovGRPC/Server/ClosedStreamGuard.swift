import CNGHTTP2

/// Answers DATA and HEADERS on closed streams with STREAM_CLOSED without
/// keeping closed streams in memory.
///
/// RFC 9113 §5.1: a frame other than PRIORITY on a stream the peer reset,
/// or on a stream closed by END_STREAM both ways, is an error of type
/// STREAM_CLOSED — except for frames in flight after this endpoint sent
/// RST_STREAM, which are ignored. nghttp2 can tell only while it keeps
/// closed streams (`nghttp2_option_set_no_closed_streams` off), which costs
/// memory per idle connection; the server turns that off, so nghttp2 ignores
/// such frames silently.
///
/// The guard restores the error from stream ids alone: a client stream id
/// (odd) not above the last one nghttp2 processed, with no open stream, is
/// closed. The frames are found by ``InboundFrameScanner`` before nghttp2
/// reads them, so its state is the one right before the frame. The ids of
/// the last 16 RST_STREAM frames sent (by the server or nghttp2) are kept,
/// so that frames in flight after them are still ignored, and a stream gets
/// at most one STREAM_CLOSED however many frames follow.
struct ClosedStreamGuard {
    /// The ids of the last RST_STREAM frames sent or answered, newest last.
    private var recent: [Int32] = []
    private var next = 0
    static let remembered = 16

    /// Remembers a stream this endpoint reset.
    mutating func sentReset(_ id: Int32) {
        if recent.count < Self.remembered {
            recent.append(id)
        } else {
            recent[next] = id
            next = (next + 1) % Self.remembered
        }
    }

    /// Whether a frame of `type` on `streamID` is on a closed stream that
    /// this endpoint did not reset, given nghttp2's state before the frame.
    func isClosedStreamFrame(type: UInt8, streamID: Int32, session: OpaquePointer) -> Bool {
        guard type == UInt8(NGHTTP2_DATA.rawValue) || type == UInt8(NGHTTP2_HEADERS.rawValue),
              streamID > 0, streamID & 1 == 1,
              streamID <= nghttp2_session_get_last_proc_stream_id(session),
              nghttp2_session_find_stream(session, streamID) == nil
        else { return false }
        return !recent.contains(streamID)
    }
}

/// Finds the frame headers in the bytes a server receives, across reads:
/// the 24-byte client preface first, then 9-byte headers each followed by
/// its payload.
struct InboundFrameScanner {
    /// A frame header, complete.
    struct Header: Equatable {
        var length: Int
        var type: UInt8
        var flags: UInt8
        var streamID: Int32
    }

    private var prefaceLeft = 24
    /// The start of a header split across reads (empty, and unallocated,
    /// otherwise).
    private var partial: [UInt8] = []
    private var payloadLeft = 0

    /// The header in nine bytes, read through `byte`.
    private static func header(_ byte: (Int) -> UInt8) -> Header {
        let length = Int(byte(0)) << 16 | Int(byte(1)) << 8 | Int(byte(2))
        var stream = Int32(byte(5) & 0x7f) << 24
        stream |= Int32(byte(6)) << 16
        stream |= Int32(byte(7)) << 8
        stream |= Int32(byte(8))
        return Header(length: length, type: byte(3), flags: byte(4), streamID: stream)
    }

    /// Scans `bytes` from the start; stops after the first frame header that
    /// completes in them. Returns the bytes scanned and that header (nil
    /// when `bytes` ran out first).
    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (scanned: Int, header: Header?) {
        var i = 0
        let n = bytes.count
        while i < n {
            if prefaceLeft > 0 {
                let k = min(prefaceLeft, n - i)
                prefaceLeft -= k
                i += k
            } else if payloadLeft > 0 {
                let k = min(payloadLeft, n - i)
                payloadLeft -= k
                i += k
            } else if partial.isEmpty && n - i >= 9 {
                let base = i
                let h = Self.header { bytes[base + $0] }
                i += 9
                payloadLeft = h.length
                return (i, h)
            } else {
                let k = min(9 - partial.count, n - i)
                partial += bytes[i..<i + k]
                i += k
                if partial.count == 9 {
                    let h = Self.header { partial[$0] }
                    partial = []
                    payloadLeft = h.length
                    return (i, h)
                }
            }
        }
        return (i, nil)
    }
}
