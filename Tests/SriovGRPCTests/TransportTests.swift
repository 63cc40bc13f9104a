import Foundation
import SriovGRPC
import SriovProto
import Testing

/// Listeners (IPv6, Unix socket), metrics hooks and connection backoff.
@Suite(.timeLimit(.minutes(1)), .serialized)
struct TransportTests {
    let echo = EchoService()

    @Test func ipv6LoopbackWithIPVerificationOfTheServerCertificate() async throws {
        let certs = try CertificateDirectory.shared()
        let server = try GRPCServer(
            configuration: ServerConfiguration(target: .host("::1", port: 0), security: .tls(TLSConfiguration(
                certificatePath: certs.path("controller.crt"), privateKeyPath: certs.path("controller.key"), trustRootsPath: certs.path("ca.crt")))),
            routes: echo.routes, logger: .init(label: "t"))
        let port = try server.start()
        let tls = certs.clientTLS()
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("::1", port: port), security: .tls(tls)))
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [6]) == [6])
        ch.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test func unixSocketListener() async throws {
        let certs = try CertificateDirectory.shared()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-\(UUID().uuidString.prefix(8)).sock").path
        let server = try GRPCServer(
            configuration: ServerConfiguration(target: .unix(path), security: .tls(TLSConfiguration(
                certificatePath: certs.path("controller.crt"), privateKeyPath: certs.path("controller.key"), trustRootsPath: certs.path("ca.crt")))),
            routes: echo.routes, logger: .init(label: "t"))
        try server.start()
        let tls = certs.clientTLS()
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .unix(path), security: .tls(tls, serverName: "localhost")))
        #expect(try await ch.unaryRaw(path: "/test.Echo/Whoami", []) == Array("spiffe://sriov.local/node/n1".utf8))
        ch.close()
        await server.shutdown(gracePeriod: .seconds(1))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func metricsCountCallsByStatusAndLatency() async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        let ch = try h.channel()
        for _ in 0..<3 { _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [1]) }
        var md = Metadata()
        md.add("x-code", "5")
        _ = try? await ch.unaryRaw(path: "/test.Echo/Fail", [], metadata: md)
        ch.close()
        await h.stop()
        let m = h.server.metrics.snapshot()
        let unary = try #require(m["/test.Echo/Unary"])
        #expect(unary.started == 3)
        #expect(unary.callsByCode[StatusCode.ok.rawValue] == 3)
        #expect(unary.latencyBuckets.reduce(0, +) == 3)
        #expect(m["/test.Echo/Fail"]?.callsByCode[StatusCode.notFound.rawValue] == 1)
        #expect(m["/test.Echo/Sleep"]?.started == 0)
    }

    @Test(arguments: [(0, 0.0), (1, 1.0), (2, 1.6), (3, 2.56), (4, 4.096), (12, 120.0), (30, 120.0)])
    func backoffGrowsBy1point6UpTo120Seconds(attempt: Int, seconds: Double) {
        let b = ConnectionBackoff.defaults
        #expect(abs(secs(b.baseDelay(attempt: attempt)) - seconds) < 1e-6)
    }

    @Test func backoffJitterStaysWithin20PercentAndConnectTimeoutIsAtLeast20Seconds() {
        let b = ConnectionBackoff.defaults
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            let d = secs(b.delay(attempt: 5, using: &rng))
            let base = secs(b.baseDelay(attempt: 5))
            #expect(d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9)
        }
        #expect(b.connectTimeout(attempt: 0) == .seconds(20))
        #expect(b.connectTimeout(attempt: 20) == .seconds(120))
    }

    @Test func callsFailFastWithUnavailableWhileTheServerIsDown() async throws {
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: 1), security: .insecurePlaintext))
        for _ in 0..<2 {
            do {
                _ = try await ch.unaryRaw(path: "/x/y", [])
                Issue.record("call succeeded")
            } catch let e as RPCError {
                #expect(e.code == .unavailable)
                #expect(e.message.contains("127.0.0.1:1"))
            }
        }
        ch.close()
    }

    @Test(arguments: ["127.0.0.1:80", "[::1]:443", "unix:/tmp/x.sock", "localhost:0"])
    func bindTargetsParse(text: String) throws {
        #expect(try BindTarget(parsing: text).description == text)
    }

    @Test(arguments: ["127.0.0.1", ":80", "host:99999", "[::1]"])
    func malformedBindTargetsAreRejected(text: String) {
        #expect(throws: SystemCallError.self) { try BindTarget(parsing: text) }
    }
}

private func secs(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
