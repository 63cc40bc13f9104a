/// A gRPC length-prefixed message that breaks the protocol or a limit.
public struct MessageFramingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The message is longer than the receive limit.
        case tooLarge
        /// The compressed flag is set but no compression was negotiated.
        case compressedWithoutEncoding
        /// The flag byte is neither 0 nor 1.
        case badFlag
        /// The stream ended inside a message.
        case truncated
        /// The compressed message inflates past the receive limit.
        case decompressedTooLarge
        /// The compressed message could not be inflated.
        case corruptCompressed
    }

    public var code: Code
    public var length: Int
    public var limit: Int
    /// What zlib said, for `.corruptCompressed`.
    public var detail: String = ""

    /// The status a receiver answers with.
    public var statusCode: StatusCode {
        switch code {
        case .tooLarge, .decompressedTooLarge: .resourceExhausted
        case .compressedWithoutEncoding, .badFlag, .truncated, .corruptCompressed: .internal
        }
    }

    public var description: String {
        switch code {
        case .tooLarge: "message of \(length) bytes exceeds the receive limit of \(limit) bytes"
        case .compressedWithoutEncoding: "message has the compressed flag set but no grpc-encoding was negotiated"
        case .badFlag: "message prefix flag \(length) is not 0 (uncompressed) or 1 (compressed)"
        case .truncated: "stream ended inside a message: \(length) of the announced bytes missing"
        case .decompressedTooLarge: "compressed message of \(length) bytes inflates past the receive limit of \(limit) bytes"
        case .corruptCompressed: "compressed message of \(length) bytes could not be decompressed: \(detail)"
        }
    }
}

/// Frames messages with gRPC's 5-byte prefix: a compressed flag and a
/// big-endian 32-bit length.
public enum MessageFramer {
    /// `payload` with its prefix (never compressed).
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(payload.count + 5)
        appendFrame(payload, to: &out)
        return out
    }

    /// Appends the prefixed payload to `buffer`; `compressed` sets the flag
    /// (the payload must then already be compressed).
    public static func appendFrame(_ payload: some Collection<UInt8>, compressed: Bool = false, to buffer: inout [UInt8]) {
        let n = UInt32(truncatingIfNeeded: payload.count)
        buffer.append(compressed ? 1 : 0)
        buffer.append(UInt8(truncatingIfNeeded: n >> 24))
        buffer.append(UInt8(truncatingIfNeeded: n >> 16))
        buffer.append(UInt8(truncatingIfNeeded: n >> 8))
        buffer.append(UInt8(truncatingIfNeeded: n))
        buffer.append(contentsOf: payload)
    }
}

/// Reassembles length-prefixed messages from DATA chunks of any size.
public struct MessageDeframer: Sendable {
    /// The largest message accepted, before and after decompression.
    public let maxMessageSize: Int
    /// The stream's `grpc-encoding`: with `.identity` a compressed flag is
    /// an error; with `.gzip` flagged messages are inflated.
    public var encoding: CompressionAlgorithm = .identity
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65_536)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete message, inflated if it was compressed; nil when
    /// more bytes are needed.
    ///
    /// - Throws: ``MessageFramingError`` as soon as a prefix announces a
    ///   message over the limit or carries a flag other than 0 (or 1 on a
    ///   gzip stream), and when a compressed message does not inflate.
    public mutating func next() throws -> [UInt8]? {
        guard let frame = try nextFrame() else { return nil }
        return frame.compressed ? try Self.inflate(frame.payload, limit: maxMessageSize) : frame.payload
    }

    /// The next complete message as sent: its payload and whether it is
    /// compressed (left for the reader to ``inflate(_:limit:)`` off the
    /// event loop). Checks the prefix like ``next()``.
    public mutating func nextFrame() throws -> (payload: [UInt8], compressed: Bool)? {
        let available = buffer.count - readIndex
        guard available >= 5 else { return nil }
        let flag = buffer[readIndex]
        let length = Int(buffer[readIndex + 1]) << 24 | Int(buffer[readIndex + 2]) << 16
            | Int(buffer[readIndex + 3]) << 8 | Int(buffer[readIndex + 4])
        if flag == 1 && encoding == .identity {
            throw MessageFramingError(code: .compressedWithoutEncoding, length: length, limit: maxMessageSize)
        }
        if flag > 1 {
            throw MessageFramingError(code: .badFlag, length: Int(flag), limit: maxMessageSize)
        }
        if length > maxMessageSize {
            throw MessageFramingError(code: .tooLarge, length: length, limit: maxMessageSize)
        }
        guard available >= 5 + length else { return nil }
        let start = readIndex + 5
        let payload = Array(buffer[start..<start + length])
        readIndex = start + length
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65_536)
            readIndex = 0
        } else if readIndex > 65_536 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        return (payload, flag == 1)
    }

    /// Inflates a gzip message, refusing to produce more than `limit` bytes.
    public static func inflate(_ payload: [UInt8], limit: Int) throws(MessageFramingError) -> [UInt8] {
        let inflated = payload.withUnsafeBytes { raw in
            Result { () throws(GzipError) in try Gzip.decompress(raw, limit: limit) }
        }
        switch inflated {
        case .success(let m):
            return m
        case .failure(.tooLarge):
            throw MessageFramingError(code: .decompressedTooLarge, length: payload.count, limit: limit)
        case .failure(let e):
            throw MessageFramingError(code: .corruptCompressed, length: payload.count, limit: limit, detail: e.description)
        }
    }

    /// Checks the end of the stream: throws when a partial message remains.
    public func finish() throws {
        let available = buffer.count - readIndex
        if available > 0 {
            var missing = 5 - available
            if available >= 5 {
                let length = Int(buffer[readIndex + 1]) << 24 | Int(buffer[readIndex + 2]) << 16
                    | Int(buffer[readIndex + 3]) << 8 | Int(buffer[readIndex + 4])
                missing = 5 + length - available
            }
            throw MessageFramingError(code: .truncated, length: missing, limit: maxMessageSize)
        }
    }
}
