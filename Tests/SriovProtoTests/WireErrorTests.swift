import SriovProto
import Testing

/// Malformed input gets a ``ProtobufDecodingError`` naming what and where,
/// never a crash.
struct WireErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var strict: Bool = false
        var code: ProtobufDecodingError.Code
        var path: String
        var detail: String
        var testDescription: String { name }
    }

    // Field numbers of sriov.v1.SriovNetworkNodePolicy: metadata = 1, spec = 2;
    // ObjectMeta: name = 1 (string), generation = 6 (int64);
    // SriovNetworkNodePolicySpec: num_vfs = 5 (int32), nic_selector = 6.
    static let cases: [Case] = [
        Case(name: "a varint where a string belongs", bytes: [0x0a, 0x02, 0x08, 0x01],
             code: .wrongWireType, path: "metadata.name", detail: "wire type varint where the schema needs length-delimited"),
        Case(name: "a string where a varint belongs", bytes: [0x12, 0x03, 0x2a, 0x01, 0x41],
             code: .wrongWireType, path: "spec.num_vfs", detail: "length-delimited where the schema needs varint"),
        Case(name: "a length past the end", bytes: [0x0a, 0x05, 0x0a, 0x01],
             code: .truncated, path: "metadata", detail: "length 5 runs past the end"),
        Case(name: "a varint cut off", bytes: [0x12, 0x02, 0x28, 0x80],
             code: .truncated, path: "spec.num_vfs", detail: "varint runs past the end"),
        Case(name: "an eleven-byte varint", bytes: [0x12, 0x0c, 0x28] + [UInt8](repeating: 0xff, count: 10) + [0x01],
             code: .malformed, path: "spec.num_vfs", detail: "varint longer than"),
        Case(name: "a tag zero-padded to six bytes (protobuf-c reads at most five)",
             bytes: [0x8a, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00],
             code: .malformed, path: "", detail: "tag encoded in 6 bytes (at most 5)"),
        Case(name: "a length prefix zero-padded to six bytes",
             bytes: [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
             code: .malformed, path: "metadata", detail: "length prefix encoded in 6 bytes (at most 5)"),
        Case(name: "field number zero", bytes: [0x00, 0x01],
             code: .malformed, path: "", detail: "field number 0"),
        Case(name: "a group wire type", bytes: [0x0b, 0x0c],
             code: .malformed, path: "metadata", detail: "groups"),
        Case(name: "wire type 7", bytes: [0x0f],
             code: .malformed, path: "metadata", detail: "invalid wire type 7"),
        Case(name: "invalid UTF-8 in a string", bytes: [0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28],
             code: .invalidString, path: "metadata.name", detail: "not valid UTF-8"),
        Case(name: "a NUL byte in a string", bytes: [0x0a, 0x05, 0x0a, 0x03, 0x61, 0x00, 0x62],
             code: .invalidString, path: "metadata.name", detail: "NUL"),
        Case(name: "an unknown field under strict decoding", bytes: [0x0a, 0x03, 0xf8, 0x01, 0x07], strict: true,
             code: .unknownField, path: "metadata.#31", detail: "field number 31 (varint) is not part of sriov.v1.ObjectMeta"),
        Case(name: "a 32-bit value cut off", bytes: [0x1d, 0x01, 0x02],
             code: .truncated, path: "#3", detail: "4-byte value runs past the end"),
    ]

    @Test(arguments: cases)
    func malformedInputIsRejectedWithAClearError(_ c: Case) {
        do {
            let value = try SriovV1.SriovNetworkNodePolicy(
                serializedBytes: c.bytes, options: .init(rejectUnknownFields: c.strict))
            Issue.record("decoded \(value) from malformed bytes")
        } catch let error as ProtobufDecodingError {
            #expect(error.code == c.code)
            #expect(error.fieldPath == c.path)
            #expect(error.messageName == "sriov.v1.SriovNetworkNodePolicy")
            #expect(error.description.contains(c.detail), "\(error)")
            #expect(error.offset != nil)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func tagsAndLengthsPaddedToFiveBytesStillDecode() throws {
        // metadata (field 1) with a five-byte tag and a five-byte length 12,
        // holding name (field 1) = "ab" written the same way.
        let padded: [UInt8] = [0x8a, 0x80, 0x80, 0x80, 0x00, 0x8c, 0x80, 0x80, 0x80, 0x00]
            + [0x8a, 0x80, 0x80, 0x80, 0x00, 0x82, 0x80, 0x80, 0x80, 0x00, 0x61, 0x62]
        let policy = try SriovV1.SriovNetworkNodePolicy(serializedBytes: padded)
        #expect(policy.metadata.name == "ab")
    }

    @Test func unknownFieldsAreSkippedByDefaultAsProto3Requires() throws {
        // metadata { name: "a", #31: 7 } followed by top-level #15 "x".
        let bytes: [UInt8] = [0x0a, 0x06, 0x0a, 0x01, 0x61, 0xf8, 0x01, 0x07, 0x7a, 0x01, 0x78]
        let policy = try SriovV1.SriovNetworkNodePolicy(serializedBytes: bytes)
        #expect(policy.metadata.name == "a")
        #expect(policy.serializedBytes() == [0x0a, 0x03, 0x0a, 0x01, 0x61])
    }

    @Test func packedAndUnpackedRepeatedScalarsBothDecode() throws {
        // grpc.reflection.v1.ExtensionNumberResponse.extension_number = 2 (repeated int32)
        let packed: [UInt8] = [0x12, 0x03, 0x01, 0x96, 0x01]
        let unpacked: [UInt8] = [0x10, 0x01, 0x10, 0x96, 0x01]
        let a = try GrpcReflectionV1.ExtensionNumberResponse(serializedBytes: packed)
        let b = try GrpcReflectionV1.ExtensionNumberResponse(serializedBytes: unpacked)
        #expect(a.extensionNumber == [1, 150])
        #expect(a == b)
    }

    @Test func deepNestingBeyondTheLimitIsRefused() throws {
        // ServerReflectionResponse.original_request (2) -> ServerReflectionRequest has no
        // message field back, so nest through an unknown-free path: depth limit 1.
        let bytes: [UInt8] = [0x12, 0x02, 0x0a, 0x00]
        #expect(throws: ProtobufDecodingError.self) {
            _ = try GrpcReflectionV1.ServerReflectionResponse(serializedBytes: bytes, options: .init(maxDepth: 1))
        }
        #expect(try GrpcReflectionV1.ServerReflectionResponse(serializedBytes: bytes, options: .init(maxDepth: 2))
            .originalRequest.host == "")
    }

    @Test func aRepeatedMessageFieldWithAOneofIsRefusedByName() throws {
        // ServerReflectionResponse.original_request twice: proto3 merges the
        // two, protobuf-c 1.4.1 cannot (its type has a oneof) and used to
        // fail with no field named (found by the protobuf fuzz target).
        let bytes: [UInt8] = [0x12, 0x00, 0x12, 0x00]
        do {
            _ = try GrpcReflectionV1.ServerReflectionResponse(serializedBytes: bytes)
            Issue.record("a repeated original_request decoded")
        } catch let error as ProtobufDecodingError {
            #expect(error.code == .malformed)
            #expect(error.fieldPath == "original_request")
            #expect(error.offset == 2)
            #expect(error.detail.contains("more than once"))
        }
        // A message field without a oneof still merges.
        // metadata {name: "a"} then metadata {namespace: "b"}.
        let policy = try SriovV1.SriovNetworkNodePolicy(serializedBytes: [0x0a, 0x03, 0x0a, 0x01, 0x61, 0x0a, 0x03, 0x12, 0x01, 0x62])
        #expect(policy.metadata.name == "a")
        #expect(policy.metadata.namespace == "b")
    }

    @Test func emptyInputIsTheDefaultMessage() throws {
        #expect(try SriovV1.SriovNetworkNodeState(serializedBytes: []) == SriovV1.SriovNetworkNodeState())
        #expect(SriovV1.SriovNetworkNodeState().serializedBytes().isEmpty)
    }
}
