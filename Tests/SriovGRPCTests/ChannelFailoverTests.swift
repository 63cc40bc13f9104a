import Foundation
import Glibc
@testable import SriovGRPC
import Testing

/// A channel with several addresses of one service (controller replicas):
/// it skips an address that refuses connections without waiting for the
/// backoff, and moves to the next address when its server goes away.
@Suite(.timeLimit(.minutes(1)), .serialized)
struct ChannelFailoverTests {
    static func channel(_ ports: [Int], certs: CertificateDirectory) throws -> GRPCChannel {
        var config = ClientConfiguration(target: .host("127.0.0.1", port: ports[0]), security: .tls(certs.clientTLS()))
        config.alternativeTargets = ports.dropFirst().map { .host("127.0.0.1", port: $0) }
        // A 30 s backoff: a call that succeeds did not wait for it.
        config.backoff.initial = .seconds(30)
        config.backoff.maximum = .seconds(60)
        return try GRPCChannel(configuration: config)
    }

    @Test func aDeadFirstAddressIsSkippedAtOnce() async throws {
        let certs = try CertificateDirectory.shared()
        let live = try LoopbackHarness(routes: EchoService().routes)
        defer { Task { await live.stop() } }
        let ch = try Self.channel([try LoopbackSockets.freePort(), try LoopbackSockets.freePort(), live.port], certs: certs)
        defer { ch.close() }
        let clock = ContinuousClock()
        let start = clock.now
        let reply = try await ch.unaryRaw(path: "/test.Echo/Unary", [7], timeout: .seconds(10))
        #expect(reply == [7])
        #expect(clock.now - start < .seconds(10))
        #expect(ch.currentTarget == .host("127.0.0.1", port: live.port))
    }

    @Test func theNextAddressIsUsedWhenTheServerGoesAway() async throws {
        let certs = try CertificateDirectory.shared()
        let a = try LoopbackHarness(routes: EchoService().routes)
        let b = try LoopbackHarness(routes: EchoService().routes)
        defer { Task { await b.stop() } }
        let ch = try Self.channel([a.port, b.port], certs: certs)
        defer { ch.close() }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5)) == [1])
        #expect(ch.currentTarget == .host("127.0.0.1", port: a.port))
        let clock = ContinuousClock()
        let stopped = clock.now
        await a.stop()
        // The lost connection sends the next call (wait-for-ready, as the
        // agent's calls are) to the other address.
        var reply: [UInt8]?
        for _ in 0..<50 where reply == nil {
            reply = try? await ch.unaryRaw(path: "/test.Echo/Unary", [2], timeout: .seconds(5), waitForReady: true)
            if reply == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reply == [2])
        #expect(ch.currentTarget == .host("127.0.0.1", port: b.port))
        print("channel failover to the next replica after its server stopped (graceful stop included): \(clock.now - stopped)")
    }
}
