import CZlib
import Glibc

/// A message encoding named by gRPC's `grpc-encoding` header.
public enum CompressionAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// No compression.
    case identity
    /// gzip (RFC 1952) through zlib.
    case gzip

    /// Parses a `grpc-encoding` value; nil for encodings we do not support.
    init?(headerValue: String) {
        switch Substring(headerValue).trimmingSpaces.lowercased() {
        case "identity": self = .identity
        case "gzip": self = .gzip
        default: return nil
        }
    }

    /// The `grpc-accept-encoding` value both sides send.
    static let acceptHeaderValue = "identity,gzip"

    /// Whether a `grpc-accept-encoding` value lists `algorithm`.
    static func list(_ value: String, contains algorithm: CompressionAlgorithm) -> Bool {
        value.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == algorithm.rawValue }
    }
}

/// How a sender compresses the messages of one stream.
public struct MessageCompression: Sendable, Hashable {
    public var algorithm: CompressionAlgorithm
    /// Messages shorter than this many bytes go uncompressed (the per-message
    /// flag allows it): compressing a few bytes only adds gzip's 18-byte
    /// header and trailer.
    public var minimumSize: Int

    public init(algorithm: CompressionAlgorithm, minimumSize: Int = 0) {
        self.algorithm = algorithm
        self.minimumSize = minimumSize
    }

    /// No compression.
    public static let none = MessageCompression(algorithm: .identity)

    /// gzip for messages of at least `minimumSize` bytes.
    public static func gzip(minimumSize: Int = 0) -> MessageCompression {
        MessageCompression(algorithm: .gzip, minimumSize: minimumSize)
    }

    /// `payload` with gRPC's 5-byte prefix, compressed when the algorithm
    /// and size say so.
    package func frame(_ payload: [UInt8]) -> [UInt8] {
        if algorithm == .gzip, payload.count >= minimumSize, let compressed = try? Gzip.compress(payload) {
            var out = [UInt8]()
            out.reserveCapacity(compressed.count + 5)
            MessageFramer.appendFrame(compressed, compressed: true, to: &out)
            return out
        }
        return MessageFramer.frame(payload)
    }
}

/// Why a gzip body could not be inflated.
public enum GzipError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The inflated size passed the limit.
    case tooLarge(limit: Int)
    /// The input ended before the gzip stream did.
    case truncated
    /// zlib rejected the data.
    case corrupt(String)
    /// Bytes follow the end of the gzip stream.
    case trailingBytes(Int)
    /// zlib could not set up a stream (out of memory).
    case setup(Int32)

    public var description: String {
        switch self {
        case .tooLarge(let limit): "decompressed message exceeds the receive limit of \(limit) bytes"
        case .truncated: "gzip data ends before the end of the compressed stream"
        case .corrupt(let why): "gzip data is corrupt: \(why)"
        case .trailingBytes(let n): "\(n) bytes follow the end of the gzip stream"
        case .setup(let rc): "zlib could not initialise a stream (error \(rc))"
        }
    }
}

/// One-shot gzip through zlib.
enum Gzip {
    /// Compresses `input` at zlib's default level.
    static func compress(_ input: [UInt8]) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        let rc = CZlib_deflateInitGzip(&stream, Z_DEFAULT_COMPRESSION)
        guard rc == Z_OK else { throw .setup(rc) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var result: Int32 = Z_OK
        // zlib writes straight into the array's storage (no zero-filling).
        let out = input.withUnsafeBytes { inBuf in
            [UInt8](unsafeUninitializedCapacity: bound) { outBuf, count in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress!
                stream.avail_out = uInt(outBuf.count)
                result = deflate(&stream, Z_FINISH)
                count = outBuf.count - Int(stream.avail_out)
            }
        }
        // deflateBound guarantees room for everything in one call.
        guard result == Z_STREAM_END else { throw .corrupt("deflate returned \(result)") }
        return out
    }

    /// Inflates `input`, refusing to produce more than `limit` bytes (a
    /// small compressed message can announce gigabytes).
    static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws(GzipError) -> [UInt8] {
        var stream = z_stream()
        let rc = CZlib_inflateInitGzip(&stream)
        guard rc == Z_OK else { throw .setup(rc) }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        // A malloc'd buffer grown by doubling, never past limit + 1 (one
        // byte over proves the limit is exceeded); copied out once at the end.
        var capacity = 0
        var buffer: UnsafeMutableRawPointer?
        defer { free(buffer) }
        var produced = 0
        while true {
            if produced == capacity {
                let room = limit + 1 - capacity
                if room <= 0 { throw .tooLarge(limit: limit) }
                let grow = min(room, max(16_384, capacity == 0 ? input.count * 4 : capacity))
                guard let grown = realloc(buffer, capacity + grow) else { throw .setup(Z_MEM_ERROR) }
                buffer = grown
                capacity += grow
            }
            stream.next_out = buffer!.assumingMemoryBound(to: Bytef.self) + produced
            stream.avail_out = uInt(capacity - produced)
            let status = inflate(&stream, Z_NO_FLUSH)
            produced = capacity - Int(stream.avail_out)
            if produced > limit { throw .tooLarge(limit: limit) }
            switch status {
            case Z_STREAM_END:
                if stream.avail_in != 0 { throw .trailingBytes(Int(stream.avail_in)) }
                // Capacity 0 would write the shared empty-array storage (see
                // ProtobufMessage.serializedBytes).
                if produced == 0 { return [] }
                return [UInt8](unsafeUninitializedCapacity: produced) { out, count in
                    if produced > 0 { memcpy(out.baseAddress!, buffer!, produced) }
                    count = produced
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress: either the output is full (grow and go on)
                // or the input is used up before the stream's end.
                if stream.avail_out == 0 { continue }
                throw .truncated
            default:
                let why = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw .corrupt(why)
            }
        }
    }
}
