import Foundation
import SriovProto
import SriovTestSupport
import Testing

struct GeneratedCodeTests {
    @Test func committedGeneratedCodeMatchesTheProtoFiles() throws {
        let python = try #require(RepoPaths.python, "no Python test peer: run scripts/ensure-deps.sh")
        let result = try TestProcess.run(
            RepoPaths.path("scripts/generate-proto.sh"), ["--check"], environment: ["SRIOV_PYTHON": python])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func serviceDescriptorsCarryTheHTTP2PathsAndCallKinds() {
        #expect(SriovV1.Operator.applyPolicy.path == "/sriov.v1.Operator/ApplyPolicy")
        #expect(SriovV1.Operator.watchNodeStates.kind == .serverStreaming)
        #expect(SriovV1.Agent.streamInventory.kind == .clientStreaming)
        #expect(SriovV1.Agent.watchConfig.kind == .serverStreaming)
        #expect(GrpcReflectionV1.ServerReflection.serverReflectionInfo.kind == .bidirectionalStreaming)
        #expect(GrpcHealthV1.Health.check.inputName == "grpc.health.v1.HealthCheckRequest")
        #expect(SriovV1.Operator.methods.count == 16)
        #expect(SriovV1.Operator.getServerInfo.path == "/sriov.v1.Operator/GetServerInfo" && SriovV1.Operator.getServerInfo.kind == .unary)
    }

    @Test func registryFindsFilesBySymbolWithTheirImports() throws {
        let file = try #require(ProtoFileRegistry.file(containingSymbol: ".sriov.v1.SriovNetworkNodePolicy"))
        #expect(file.name == "sriov/v1/policy.proto")
        let closure = ProtoFileRegistry.closure(of: file).map(\.name)
        #expect(closure.last == "sriov/v1/policy.proto")
        #expect(Set(closure) == ["google/protobuf/wrappers.proto", "google/protobuf/timestamp.proto",
                                 "sriov/v1/meta.proto", "sriov/v1/policy.proto"])
        #expect(ProtoFileRegistry.file(containingSymbol: "sriov.v1.Operator.ApplyPolicy")?.name == "sriov/v1/operator.proto")
        #expect(ProtoFileRegistry.file(containingSymbol: "sriov.v1.Nope") == nil)
        // The embedded descriptor is a FileDescriptorProto whose field 1 is the name.
        let descriptor = file.descriptor
        #expect(descriptor.first == 0x0a)
        #expect(String(decoding: descriptor[2..<(2 + Int(descriptor[1]))], as: UTF8.self) == file.name)
    }

    @Test func enumsKeepUnknownValuesAndTheirProtoNames() throws {
        var response = GrpcHealthV1.HealthCheckResponse()
        response.status = .init(rawValue: 42)
        let decoded = try GrpcHealthV1.HealthCheckResponse(serializedBytes: response.serializedBytes())
        #expect(decoded.status.rawValue == 42)
        #expect(GrpcHealthV1.HealthCheckResponse.ServingStatus.notServing.description == "NOT_SERVING")
        #expect(GrpcHealthV1.HealthCheckResponse.ServingStatus(protoName: "SERVICE_UNKNOWN") == .serviceUnknown)
    }

    @Test func mapsEncodeSortedByKeySoEqualValuesGiveEqualBytes() {
        var a = SriovV1.ObjectMeta()
        var b = SriovV1.ObjectMeta()
        for key in ["zeta", "alpha", "mid"] { a.labels[key] = key }
        for key in ["mid", "zeta", "alpha"] { b.labels[key] = key }
        #expect(a.serializedBytes() == b.serializedBytes())
    }
}
