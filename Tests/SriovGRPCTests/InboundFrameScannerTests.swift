@testable import SriovGRPC
import Testing

/// ``InboundFrameScanner`` finds the same frame headers however the bytes
/// are split into reads (the server's closed-stream check relies on it).
@Suite struct InboundFrameScannerTests {
    static let frames: [(type: UInt8, flags: UInt8, stream: UInt32, length: Int)] = [
        (4, 0, 0, 0), (1, 4, 1, 20), (0, 1, 1, 5), (6, 0, 0, 8), (0, 0, 3, 0), (9, 4, 0x7fff_ffff, 3),
    ]

    static var bytes: [UInt8] {
        var out = RawFrameClient.preface
        for f in frames {
            out += RawFrameClient.frame(f.type, flags: f.flags, stream: f.stream, [UInt8](repeating: 0xab, count: f.length))
        }
        return out
    }

    static func scan(_ bytes: [UInt8], splitAt cuts: [Int]) -> [InboundFrameScanner.Header] {
        var scanner = InboundFrameScanner()
        var found: [InboundFrameScanner.Header] = []
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            bytes[start..<end].withUnsafeBufferPointer { chunk in
                var offset = 0
                while offset < chunk.count {
                    let step = scanner.scan(UnsafeBufferPointer(rebasing: chunk[offset...]))
                    offset += step.scanned
                    if let h = step.header { found.append(h) }
                }
            }
            start = end
        }
        return found
    }

    @Test func headersAreFoundAcrossEverySplit() {
        let bytes = Self.bytes
        let expected = Self.frames.map {
            InboundFrameScanner.Header(length: $0.length, type: $0.type, flags: $0.flags, streamID: Int32($0.stream))
        }
        #expect(Self.scan(bytes, splitAt: []) == expected)
        for cut in 0...bytes.count {
            #expect(Self.scan(bytes, splitAt: [cut]) == expected, "split at \(cut)")
        }
        // One byte per read.
        #expect(Self.scan(bytes, splitAt: Array(1..<bytes.count)) == expected)
    }

    @Test func theReservedBitIsNotPartOfTheStreamID() {
        var bytes = RawFrameClient.preface + RawFrameClient.frame(0, stream: 1, [])
        bytes[24 + 5] |= 0x80
        #expect(Self.scan(bytes, splitAt: []).map(\.streamID) == [1])
    }
}
