import Foundation
@testable import SriovGRPC
import SriovProto
import Testing

/// Our server and client against real gRPC peers: Python grpcio and grpcurl.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct InteropTests {
    let echo = EchoService()

    /// Run twice: plain, and with every request gzip-compressed.
    @Test(arguments: [false, true])
    func grpcioClientCallsOurServerWithAllFourKindsOverMutualTLS(gzip: Bool) async throws {
        let health = HealthService()
        let h = try LoopbackHarness(routes: echo.routes + health.routes)
        let out = try await ProcessRunner.run(ProcessRunner.python, [
            ProcessRunner.interopDirectory + "/grpc_client.py", "127.0.0.1:\(h.port)",
            h.certs.path("ca.crt"), h.certs.path("node-n1.crt"), h.certs.path("node-n1.key"),
        ] + (gzip ? ["gzip"] : []))
        await h.stop()
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(out.status == 0, "\(out.stdout)\n\(out.stderr)")
        #expect(lines.filter { $0.hasPrefix("ok ") }.count == 12, "\(lines)")
        #expect(lines.last == "total 12", "\(lines)")
    }

    /// Run twice: plain, and with gzip both ways (our requests, its responses).
    @Test(arguments: [false, true])
    func ourClientCallsAGrpcioServerWithAllFourKinds(gzip: Bool) async throws {
        let certs = try CertificateDirectory.shared()
        let peer = try await PythonPeer.start("grpc_server.py", [certs.path("ca.crt"), certs.path("controller.crt"), certs.path("controller.key")] + (gzip ? ["gzip"] : []))
        defer { peer.stop() }
        let tls = certs.clientTLS()
        var config = ClientConfiguration(target: .host("127.0.0.1", port: peer.port), security: .tls(tls))
        if gzip { config.compression = .gzip() }
        let ch = try GRPCChannel(configuration: config)
        defer { ch.close() }

        let ua = try await ch.openCall(path: "/test.Echo/UserAgent", timeout: .seconds(10))
        try await ua.send(Array(repeating: 7, count: 1000))
        ua.closeSend()
        let agent = String(decoding: try #require(try await ua.receive()), as: UTF8.self)
        #expect(agent.hasPrefix("sriov-grpc/1.0"), "\(agent)")
        // grpcio compresses its responses only when told to.
        #expect(ua.call.responseEncoding == (gzip ? "gzip" : nil))
        #expect(try await ua.receive() == nil)

        let big = [UInt8](repeating: 0x41, count: 300_000)
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", big, timeout: .seconds(10)) == big)

        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1, 2, 3], timeout: .seconds(10)) == [1, 2, 3])

        let ss = try await ch.openCall(path: "/test.Echo/ServerStream", timeout: .seconds(10))
        try await ss.send([4])
        ss.closeSend()
        var got: [[UInt8]] = []
        while let m = try await ss.receive() { got.append(m) }
        #expect(got == [[0], [1], [2], [3]])

        let cs = try await ch.openCall(path: "/test.Echo/ClientStream", timeout: .seconds(10))
        for b in [UInt8(7), 8, 9] { try await cs.send([b]) }
        cs.closeSend()
        #expect(try await cs.receive() == [7, 8, 9])
        #expect(try await cs.receive() == nil)

        let bidi = try await ch.openCall(path: "/test.Echo/Bidi", timeout: .seconds(10))
        for b in [UInt8(1), 2, 3] {
            try await bidi.send([b])
            #expect(try await bidi.receive() == [b])
        }
        bidi.closeSend()
        #expect(try await bidi.receive() == nil)

        var md = Metadata()
        md.add("x-code", "9")
        md.add("x-message", "not now")
        await #expect(throws: RPCError(code: .failedPrecondition, message: "not now")) {
            try await ch.unaryRaw(path: "/test.Echo/Fail", [], metadata: md, timeout: .seconds(10))
        }
        await #expect(throws: RPCError.self) { try await ch.unaryRaw(path: "/test.Echo/Missing", [], timeout: .seconds(10)) }
    }

    @Test func grpcurlListsAndDescribesThroughReflection() async throws {
        let health = HealthService()
        let reflection = ReflectionService(services: [GrpcHealthV1.Health.serviceName, GrpcReflectionV1.ServerReflection.serviceName])
        let h = try LoopbackHarness(routes: health.routes + reflection.routes)
        let grpcurl = CertificateDirectory.repoRoot + "/.venv/bin/grpcurl"
        let common = ["-cacert", h.certs.path("ca.crt"), "-cert", h.certs.path("operator-op.crt"), "-key", h.certs.path("operator-op.key"), "127.0.0.1:\(h.port)"]
        let list = try await ProcessRunner.run(grpcurl, common + ["list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.split(separator: "\n") == ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"])
        let describe = try await ProcessRunner.run(grpcurl, common + ["describe", "grpc.health.v1.Health"])
        #expect(describe.stdout.contains("rpc Check ( .grpc.health.v1.HealthCheckRequest ) returns ( .grpc.health.v1.HealthCheckResponse );"), "\(describe.stdout) \(describe.stderr)")
        #expect(describe.stdout.contains("rpc Watch"))
        let call = try await ProcessRunner.run(grpcurl, Array(common.dropLast()) + ["-d", "{}", "127.0.0.1:\(h.port)", "grpc.health.v1.Health/Check"])
        #expect(call.stdout.contains("\"SERVING\""), "\(call.stdout) \(call.stderr)")
        let missing = try await ProcessRunner.run(grpcurl, common + ["describe", "no.such.Service"])
        #expect(missing.status != 0)
        await h.stop()
    }
}
