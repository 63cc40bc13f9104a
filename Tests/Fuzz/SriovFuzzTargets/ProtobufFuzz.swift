import SriovProto

/// The `protobuf` target.
///
/// Input: byte 0 picks the message type (by index in the sorted list of
/// every generated type, modulo its length), byte 1 bit 0 turns on
/// `rejectUnknownFields`, the rest is the encoding. Invariants:
/// - decoding never crashes, and the wire scanner and protobuf-c agree: bytes
///   the scanner accepts are never refused by protobuf-c afterwards;
/// - a decoded value re-encodes, the encoding decodes to an equal value
///   (equal bytes for values holding NaN), and encoding that value again
///   gives the same bytes.
enum ProtobufFuzz {
    /// Every generated message type, sorted by proto name.
    static let types: [(name: String, type: any ProtobufMessage.Type)] =
        ProtoFileRegistry.messageTypes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let entry = types[Int(input.byte()) % types.count]
        let options = ProtobufDecodingOptions(rejectUnknownFields: input.byte() & 1 == 1)
        roundTrip(entry.type, input.rest, options: options)
    }

    static func roundTrip<M: ProtobufMessage>(_ messageType: M.Type, _ bytes: UnsafeRawBufferPointer, options: ProtobufDecodingOptions) {
        let value: M
        do {
            value = try M(serializedBuffer: bytes, options: options)
        } catch let error as ProtobufDecodingError {
            if error.detail == "protobuf-c rejected the message" {
                invariantBroken(.protobuf, "\(M.protoMessageName): the wire scanner accepted \(bytes.count) bytes that protobuf-c refused")
            }
            return
        } catch {
            invariantBroken(.protobuf, "\(M.protoMessageName): decoding threw \(type(of: error)), not ProtobufDecodingError: \(error)")
        }
        let encoded = value.serializedBytes()
        let again: M
        do {
            again = try M(serializedBytes: encoded, options: options)
        } catch {
            invariantBroken(.protobuf, "\(M.protoMessageName): the encoding of a decoded value does not decode: \(error)")
        }
        let reencoded = again.serializedBytes()
        if again != value && reencoded != encoded {
            invariantBroken(.protobuf, "\(M.protoMessageName): decode → encode → decode changed the value")
        }
        if reencoded != encoded {
            invariantBroken(.protobuf, "\(M.protoMessageName): encoding is not stable (\(encoded.count) then \(reencoded.count) bytes)")
        }
    }
}
