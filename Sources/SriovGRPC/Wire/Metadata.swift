/// gRPC metadata: an ordered multimap of lower-case keys to text or binary
/// values. Keys ending in `-bin` carry bytes, base64-encoded on the wire.
public struct Metadata: Sendable, Hashable, Sequence {
    /// One metadata value.
    public enum Value: Sendable, Hashable {
        case string(String)
        case binary([UInt8])
    }

    public private(set) var entries: [(key: String, value: Value)] = []

    public init() {}

    init(rawEntries: [(key: String, value: Value)]) { self.entries = rawEntries }

    /// Text entries, in order.
    public init(_ elements: [(String, String)]) {
        for (k, v) in elements { add(k, v) }
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for e in entries {
            hasher.combine(e.key)
            hasher.combine(e.value)
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> { entries.makeIterator() }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Appends a text value (the key is lower-cased).
    public mutating func add(_ key: String, _ value: String) {
        entries.append((key.lowercased(), .string(value)))
    }

    /// Appends a binary value; the key should end in `-bin`.
    public mutating func add(_ key: String, bytes: [UInt8]) {
        entries.append((key.lowercased(), .binary(bytes)))
    }

    /// The first text value for `key`.
    public subscript(key: String) -> String? {
        let key = key.lowercased()
        for e in entries where e.key == key {
            if case .string(let s) = e.value { return s }
        }
        return nil
    }

    /// Every value for `key`.
    public func values(for key: String) -> [Value] {
        let key = key.lowercased()
        return entries.filter { $0.key == key }.map(\.value)
    }

    /// The first binary value for `key`.
    public func bytes(for key: String) -> [UInt8]? {
        let key = key.lowercased()
        for e in entries where e.key == key {
            if case .binary(let b) = e.value { return b }
        }
        return nil
    }

    /// Header names gRPC reserves; they are never exposed as metadata
    /// (`grpc-status-details-bin` is: it carries rich error details).
    static func isReserved(_ key: String) -> Bool {
        if key.hasPrefix(":") { return true }
        switch key {
        case "content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
             "grpc-status", "grpc-message", "host",
             "connection", "content-length", "accept-encoding", "trailer", "upgrade", "keep-alive",
             "proxy-connection", "transfer-encoding":
            return true
        default:
            return key.hasPrefix("grpc-") && key != "grpc-status-details-bin"
        }
    }

    /// Adds one received header as metadata, decoding `-bin` values.
    /// Reserved headers are skipped.
    ///
    /// - Throws: ``HeaderValidationError`` when a `-bin` value is not base64.
    package mutating func addWireHeader(name: String, value: String) throws {
        guard !Metadata.isReserved(name) else { return }
        if name.hasSuffix("-bin") {
            // Several values may arrive comma-separated in one header.
            var decoded: [[UInt8]] = []
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = part.trimmingSpaces
                guard let bytes = Base64.decode(trimmed) else {
                    throw HeaderValidationError(header: name, value: value, accepted: "base64 (RFC 4648), padded or not")
                }
                decoded.append(bytes)
            }
            for b in decoded { entries.append((name, .binary(b))) }
        } else {
            entries.append((name, .string(value)))
        }
    }

    /// The headers to send: `-bin` values base64-encoded.
    ///
    /// - Throws: ``HeaderValidationError`` for a key or value gRPC does not
    ///   allow.
    package func wireHeaders() throws -> [(String, String)] {
        var out: [(String, String)] = []
        out.reserveCapacity(entries.count)
        for (key, value) in entries {
            try HeaderValidation.validateKey(key)
            switch value {
            case .string(let s):
                if key.hasSuffix("-bin") {
                    out.append((key, Base64.encode(Array(s.utf8))))
                } else {
                    try HeaderValidation.validateASCIIValue(s, key: key)
                    out.append((key, s))
                }
            case .binary(let b):
                guard key.hasSuffix("-bin") else {
                    throw HeaderValidationError(header: key, value: "<\(b.count) bytes>", accepted: "binary values only under keys ending in -bin")
                }
                out.append((key, Base64.encode(b)))
            }
        }
        return out
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
