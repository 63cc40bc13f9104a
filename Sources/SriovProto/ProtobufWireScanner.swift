import CProtobufC

/// Walks proto3 binary input against a protobuf-c message descriptor before
/// protobuf-c unpacks it, so that every malformed input gets an error naming
/// the field and byte offset (protobuf-c itself only says "failed").
///
/// Checks: tags (field number 1...2^29-1, wire types 0, 1, 2, 5), varints of at
/// most 10 bytes (tags and length prefixes at most 5, as protobuf-c reads them:
/// a longer, zero-padded encoding is valid protobuf but protobuf-c refuses it
/// without saying why), lengths inside the input, each known field's wire type
/// against its schema type (packed repeated scalars allowed), strings valid
/// UTF-8 without NUL bytes (protobuf-c hands strings out NUL-terminated, so a
/// NUL would silently truncate), nesting depth, and optionally unknown fields.
public struct ProtobufWireScanner {
    public let options: ProtobufDecodingOptions
    private var messageName = ""

    public init(options: ProtobufDecodingOptions = .defaults) {
        self.options = options
    }

    /// Throws ``ProtobufDecodingError`` when `buffer` is not a valid encoding.
    public mutating func validate(
        _ buffer: UnsafeRawBufferPointer, as descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
        messageName: String
    ) throws {
        self.messageName = messageName
        try scan(buffer, from: 0, to: buffer.count, descriptor: descriptor, path: "", depth: 1)
    }

    private func fail(_ code: ProtobufDecodingError.Code, _ path: String, _ offset: Int, _ detail: String) -> ProtobufDecodingError {
        ProtobufDecodingError(code: code, messageName: messageName, fieldPath: path, offset: offset, detail: detail)
    }

    /// What a varint encodes, for errors: a value (up to 10 bytes), a tag or a
    /// length prefix (up to 5 bytes each in protobuf-c).
    private enum VarintRole {
        case value, tag, length

        var maxBytes: Int { self == .value ? 10 : 5 }
    }

    private func readVarint(
        _ buffer: UnsafeRawBufferPointer, _ position: inout Int, end: Int, path: String, role: VarintRole = .value
    ) throws -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw fail(.truncated, path, start, "varint runs past the end of the input") }
            let byte = buffer[position]
            position += 1
            if shift == 63 && byte > 1 { throw fail(.malformed, path, start, "varint longer than 64 bits") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if position - start > role.maxBytes {
                    throw fail(.malformed, path, start, "\(role == .tag ? "tag" : "length prefix") encoded in \(position - start) bytes (at most \(role.maxBytes))")
                }
                return result
            }
            shift += 7
            if shift > 63 { throw fail(.malformed, path, start, "varint longer than 10 bytes") }
        }
    }

    private static func wireTypeName(_ wireType: UInt64) -> String {
        switch wireType {
        case 0: "varint"
        case 1: "64-bit"
        case 2: "length-delimited"
        case 3: "start-group"
        case 4: "end-group"
        case 5: "32-bit"
        default: "invalid (\(wireType))"
        }
    }

    /// The wire type a scalar of `type` is written with when not packed.
    private static func expectedWireType(_ type: ProtobufCType) -> UInt64 {
        switch type {
        case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE: 1
        case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT: 5
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE: 2
        default: 0
        }
    }

    private func field(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>, number: UInt32) -> ProtobufCFieldDescriptor? {
        let d = descriptor.pointee
        for index in 0..<Int(d.n_fields) where d.fields[index].id == number {
            return d.fields[index]
        }
        return nil
    }

    /// Whether a message type has a oneof member.
    private static func hasOneof(_ descriptor: UnsafePointer<ProtobufCMessageDescriptor>) -> Bool {
        let d = descriptor.pointee
        for index in 0..<Int(d.n_fields) where d.fields[index].flags & PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue != 0 {
            return true
        }
        return false
    }

    private func scan(
        _ buffer: UnsafeRawBufferPointer, from start: Int, to end: Int,
        descriptor: UnsafePointer<ProtobufCMessageDescriptor>, path: String, depth: Int
    ) throws {
        guard depth <= options.maxDepth else {
            throw fail(.tooDeep, path, start, "messages nested deeper than \(options.maxDepth) levels")
        }
        var position = start
        // Singular message fields seen, whose type has a oneof: protobuf-c
        // 1.4.1 fails to merge a second occurrence of such a field (proto3
        // says to merge), and would reject the input without saying why.
        var seenOneofMessages: [UInt32] = []
        while position < end {
            let tagOffset = position
            let tag = try readVarint(buffer, &position, end: end, path: path, role: .tag)
            let number = tag >> 3
            let wireType = tag & 7
            guard number >= 1, number <= 536_870_911 else {
                throw fail(.malformed, path, tagOffset, "field number \(number) is outside 1...536870911")
            }
            let known = field(descriptor, number: UInt32(number))
            let fieldName = known.map { String(cString: $0.name) } ?? "#\(number)"
            let fieldPath = path.isEmpty ? fieldName : path + "." + fieldName

            // Extent of the value.
            var valueStart = position
            var valueEnd: Int
            switch wireType {
            case 0:
                _ = try readVarint(buffer, &position, end: end, path: fieldPath)
                valueEnd = position
            case 1, 5:
                let width = wireType == 1 ? 8 : 4
                guard end - position >= width else {
                    throw fail(.truncated, fieldPath, tagOffset, "\(width)-byte value runs past the end of the input")
                }
                position += width
                valueEnd = position
            case 2:
                let length = try readVarint(buffer, &position, end: end, path: fieldPath, role: .length)
                guard length <= UInt64(end - position) else {
                    throw fail(.truncated, fieldPath, tagOffset, "length \(length) runs past the end of the input (\(end - position) bytes left)")
                }
                valueStart = position
                position += Int(length)
                valueEnd = position
            case 3, 4:
                throw fail(.malformed, fieldPath, tagOffset, "groups (wire types 3 and 4) are not allowed in proto3")
            default:
                throw fail(.malformed, fieldPath, tagOffset, "invalid wire type \(wireType)")
            }

            guard let known else {
                if options.rejectUnknownFields {
                    throw fail(.unknownField, fieldPath, tagOffset, "field number \(number) (\(Self.wireTypeName(wireType))) is not part of \(String(cString: descriptor.pointee.name))")
                }
                continue
            }
            let expected = Self.expectedWireType(known.type)
            let packable = known.label == PROTOBUF_C_LABEL_REPEATED && expected != 2
            guard wireType == expected || (packable && wireType == 2) else {
                throw fail(.wrongWireType, fieldPath, tagOffset, "wire type \(Self.wireTypeName(wireType)) where the schema needs \(Self.wireTypeName(expected))")
            }
            if packable && wireType == 2 {
                try scanPacked(buffer, from: valueStart, to: valueEnd, wireType: expected, path: fieldPath)
            } else if known.type == PROTOBUF_C_TYPE_STRING {
                try checkString(buffer, from: valueStart, to: valueEnd, path: fieldPath)
            } else if known.type == PROTOBUF_C_TYPE_MESSAGE {
                let child = known.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                if known.label != PROTOBUF_C_LABEL_REPEATED, Self.hasOneof(child) {
                    if seenOneofMessages.contains(known.id) {
                        throw fail(.malformed, fieldPath, tagOffset, "the message field appears more than once; merging repeated occurrences of a message with a oneof (\(String(cString: child.pointee.name))) is not supported")
                    }
                    seenOneofMessages.append(known.id)
                }
                try scan(buffer, from: valueStart, to: valueEnd, descriptor: child, path: fieldPath, depth: depth + 1)
            }
        }
    }

    private func scanPacked(_ buffer: UnsafeRawBufferPointer, from start: Int, to end: Int, wireType: UInt64, path: String) throws {
        switch wireType {
        case 0:
            var position = start
            while position < end { _ = try readVarint(buffer, &position, end: end, path: path) }
        case 1, 5:
            let width = wireType == 1 ? 8 : 4
            guard (end - start) % width == 0 else {
                throw fail(.malformed, path, start, "packed length \(end - start) is not a multiple of \(width)")
            }
        default:
            break
        }
    }

    private func checkString(_ buffer: UnsafeRawBufferPointer, from start: Int, to end: Int, path: String) throws {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<end])
        if let nul = bytes.firstIndex(of: 0) {
            throw fail(.invalidString, path, start + nul, "string contains a NUL byte")
        }
        if String(validating: bytes, as: UTF8.self) == nil {
            throw fail(.invalidString, path, start, "string is not valid UTF-8")
        }
    }
}
