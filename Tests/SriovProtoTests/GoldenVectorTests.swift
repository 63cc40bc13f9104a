import Foundation
import SriovProto
import SriovTestSupport
import Testing

/// Python's protobuf runtime (an independent implementation, compiling the same
/// .proto files at test time) against the generated Swift types and protobuf-c.
@Suite(.serialized)
struct GoldenVectorTests {
    struct Vector {
        var type: String
        var variant: String
        var bytes: [UInt8]
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func unhex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            out.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    static func python() throws -> String {
        try #require(RepoPaths.python, "no Python test peer: run scripts/ensure-deps.sh or set SRIOV_TEST_PYTHON")
    }

    /// Python's vectors, generated once for all tests of the suite (each run
    /// compiles the .proto files and builds every message).
    static let generated: Result<[Vector], any Error> = Result { try runGenerate() }

    static func generate() throws -> [Vector] {
        try generated.get()
    }

    private static func runGenerate() throws -> [Vector] {
        let dir = try RepoPaths.temporaryDirectory("golden")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("python.json").path
        let result = try TestProcess.run(
            try python(), [RepoPaths.path("Tests/SriovProtoTests/Python/golden.py"), "generate", RepoPaths.root.path, file])
        try #require(result.status == 0, "golden.py generate failed: \(result.output)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [[String: Any]]
        return json.map { entry in
            let variant = entry["variant"].map { "\($0)" } ?? ""
            return Vector(type: entry["type"] as! String, variant: variant, bytes: unhex(entry["hex"] as! String))
        }
    }

    @Test func everyMessageTypeHasPythonVectorsAndDecodesAndReencodesToTheSameBytes() throws {
        let vectors = try Self.generate()
        let covered = Set(vectors.map(\.type))
        #expect(covered == Set(ProtoFileRegistry.messageTypes.keys), "types without vectors: \(Set(ProtoFileRegistry.messageTypes.keys).subtracting(covered))")
        var swiftVectors: [[String: Any]] = []
        for vector in vectors {
            let type = try #require(ProtoFileRegistry.messageTypes[vector.type], "no Swift type for \(vector.type)")
            let value = try type.init(serializedBytes: vector.bytes, options: .init(rejectUnknownFields: true))
            let reencoded = value.serializedBytes()
            #expect(Self.hex(reencoded) == Self.hex(vector.bytes), "\(vector.type)/\(vector.variant) re-encodes differently")
            // Equal values from a second decode of our own bytes.
            let again = try type.init(serializedBytes: reencoded, options: .defaults)
            #expect(AnyHashable(again) == AnyHashable(value), "\(vector.type)/\(vector.variant) is not stable")
            let variant: Any = Int(vector.variant) ?? vector.variant
            swiftVectors.append(["type": vector.type, "variant": variant, "hex": Self.hex(reencoded)])
        }
        // The Swift bytes parse in Python and equal what Python built.
        let dir = try RepoPaths.temporaryDirectory("golden")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("swift.json")
        try JSONSerialization.data(withJSONObject: swiftVectors).write(to: file)
        let result = try TestProcess.run(
            try Self.python(), [RepoPaths.path("Tests/SriovProtoTests/Python/golden.py"), "verify", RepoPaths.root.path, file.path])
        #expect(result.status == 0, "Python rejected Swift-encoded bytes:\n\(result.output)")
    }

    @Test func pythonFixturesDecodeToTheExpectedSwiftValues() throws {
        let vectors = try Self.generate()
        func bytes(_ name: String) throws -> [UInt8] {
            try #require(vectors.first { $0.variant == name }, "fixture \(name) missing").bytes
        }
        #expect(try SriovV1.SriovNetworkNodePolicy(serializedBytes: bytes("seed-policy")) == Fixtures.seedPolicy)
        #expect(try SriovV1.SriovNetwork(serializedBytes: bytes("seed-network")) == Fixtures.seedNetwork)
        #expect(try SriovV1.SriovNetworkNodeState(serializedBytes: bytes("node-state")) == Fixtures.nodeState)
        var health = GrpcHealthV1.HealthCheckResponse()
        health.status = .serving
        #expect(try GrpcHealthV1.HealthCheckResponse(serializedBytes: bytes("health-serving")) == health)
        var reflection = GrpcReflectionV1.ServerReflectionRequest()
        reflection.host = "localhost"
        reflection.messageRequest = .listServices("")
        #expect(try GrpcReflectionV1.ServerReflectionRequest(serializedBytes: bytes("reflection-list-services")) == reflection)
        // A present priority of 0 stays distinct from an absent one.
        let zero = try SriovV1.SriovNetworkNodePolicySpec(serializedBytes: bytes("priority-zero-is-present"))
        #expect(zero.priority == 0)
        #expect(SriovV1.SriovNetworkNodePolicySpec().priority == nil)
    }

    @Test func swiftFixturesEncodeToWhatPythonBuildsFromTheSameJSON() throws {
        let vectors = try Self.generate()
        for (name, value) in [
            ("seed-policy", Fixtures.seedPolicy as any ProtobufMessage),
            ("seed-network", Fixtures.seedNetwork), ("node-state", Fixtures.nodeState),
        ] {
            let python = try #require(vectors.first { $0.variant == name })
            #expect(Self.hex(value.serializedBytes()) == Self.hex(python.bytes), "\(name)")
        }
    }
}
