import CProtobufC

/// A generated message type of the API: a Swift value with protobuf encoding.
///
/// Encoding and decoding go through protobuf-c: the value is turned into a
/// protobuf-c struct tree in a ``ProtobufCArena`` and packed; bytes are first
/// checked by ``ProtobufWireScanner`` (which names the field and offset of any
/// error) and then unpacked by protobuf-c and converted into the value.
public protocol ProtobufMessage: ProtobufCConvertible, Hashable, Sendable {
    /// The fully-qualified proto name, e.g. `sriov.v1.SriovNetworkNodePolicy`.
    static var protoMessageName: String { get }
    /// The message with every field at its default.
    init()
}

/// The bridge between a generated Swift message and its protobuf-c struct.
/// Implemented by generated code only.
public protocol ProtobufCConvertible {
    /// The protobuf-c struct, e.g. `Sriov__V1__NicSelector`.
    associatedtype CMessage
    /// The protobuf-c runtime descriptor of the message.
    static var _cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> { get }
    /// Reads an unpacked protobuf-c message.
    init(_cMessage: UnsafePointer<CMessage>) throws
    /// Builds the protobuf-c struct tree of this value inside `arena`.
    func _cMessage(in arena: ProtobufCArena) -> UnsafeMutablePointer<CMessage>
}

/// How strictly bytes are decoded.
public struct ProtobufDecodingOptions: Sendable, Hashable {
    /// Reject fields the schema does not know. Off by default: proto3 readers
    /// skip unknown fields so that newer peers can add fields.
    public var rejectUnknownFields: Bool
    /// Maximum nesting depth of messages.
    public var maxDepth: Int

    public init(rejectUnknownFields: Bool = false, maxDepth: Int = 64) {
        self.rejectUnknownFields = rejectUnknownFields
        self.maxDepth = maxDepth
    }

    /// Lenient about unknown fields, depth limit 64.
    public static var defaults: Self { Self() }
}

extension ProtobufMessage {
    /// The proto3 binary encoding of the value (map entries sorted by key, so
    /// equal values give equal bytes).
    public func serializedBytes() -> [UInt8] {
        let arena = ProtobufCArena()
        let message = _cMessage(in: arena)
        return message.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { base in
            let size = protobuf_c_message_get_packed_size(base)
            // Not through unsafeUninitializedCapacity for an empty message:
            // with capacity 0 it writes the count into the standard library's
            // one shared empty-array storage, a race between threads that
            // ThreadSanitizer reports (harmless, but every empty request
            // would trip it).
            if size == 0 { return [] }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = protobuf_c_message_pack(base, buffer.baseAddress!)
            }
        }
    }

    /// Decodes the proto3 binary encoding.
    ///
    /// - Throws: ``ProtobufDecodingError`` naming the message, field and byte
    ///   offset when the bytes are not a valid encoding of this message.
    public init(serializedBytes bytes: some Collection<UInt8>, options: ProtobufDecodingOptions = .defaults) throws {
        let array = Array(bytes)
        self = try array.withUnsafeBufferPointer { buffer in
            try Self(serializedBuffer: UnsafeRawBufferPointer(buffer), options: options)
        }
    }

    /// Decodes from raw memory the caller keeps alive for the call.
    public init(serializedBuffer buffer: UnsafeRawBufferPointer, options: ProtobufDecodingOptions = .defaults) throws {
        var scanner = ProtobufWireScanner(options: options)
        try scanner.validate(buffer, as: Self._cDescriptor, messageName: Self.protoMessageName)
        let base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        guard
            let unpacked = protobuf_c_message_unpack(
                Self._cDescriptor, nil, buffer.count, base.assumingMemoryBound(to: UInt8.self))
        else {
            throw ProtobufDecodingError(
                code: .malformed, messageName: Self.protoMessageName, fieldPath: "", offset: nil,
                detail: "protobuf-c rejected the message")
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        self = try UnsafeRawPointer(unpacked).withMemoryRebound(to: CMessage.self, capacity: 1) {
            try Self(_cMessage: $0)
        }
    }
}
