import Foundation
import Glibc
@testable import SriovGRPC
import Testing

/// The channel's connection management: backoff, wait-for-ready, deadlines
/// while connecting, reconnecting after the server restarts.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct ChannelTests {
    static var fastBackoff: ConnectionBackoff {
        var b = ConnectionBackoff()
        b.initial = .milliseconds(200)
        b.maximum = .seconds(1)
        b.minConnectTimeout = .seconds(5)
        return b
    }

    static func channel(port: Int, certs: CertificateDirectory, backoff: ConnectionBackoff = fastBackoff) throws -> GRPCChannel {
        let tls = certs.clientTLS()
        var config = ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(tls))
        config.backoff = backoff
        return try GRPCChannel(configuration: config)
    }

    @Test func failFastCallsFailWhileTheChannelBacksOff() async throws {
        let certs = try CertificateDirectory.shared()
        // A 30 s first backoff: the second call lands in it however slow the machine.
        var backoff = Self.fastBackoff
        backoff.initial = .seconds(30)
        backoff.maximum = .seconds(60)
        let ch = try Self.channel(port: try LoopbackSockets.freePort(), certs: certs, backoff: backoff)
        defer { ch.close() }
        #expect(ch.connectivity == .idle)
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5))
            Issue.record("connected to nothing")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("Connection refused"), "\(e.message)")
        }
        #expect(ch.connectivity == .transientFailure)
        // Backing off: the next fail-fast call does not even try.
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5))
            Issue.record("connected to nothing")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("Connection refused (next attempt in"), "\(e.message)")
        }
    }

    @Test func waitForReadyCallsWaitWhileTheChannelKeepsTrying() async throws {
        let certs = try CertificateDirectory.shared()
        let port = try LoopbackSockets.freePort()
        let ch = try Self.channel(port: port, certs: certs)
        defer { ch.close() }
        // Nothing listens yet: attempts fail every 200 ms to 1 s.
        let waiting = Task { try await ch.unaryRaw(path: "/test.Echo/Unary", [7], timeout: .seconds(30), waitForReady: true) }
        #expect(try await eventually { ch.connectivity == .transientFailure })
        try await Task.sleep(for: .milliseconds(500))
        let h = try LoopbackHarness(routes: EchoService().routes, port: port)
        #expect(try await waiting.value == [7])
        #expect(ch.connectivity == .ready)
        await h.stop()
    }

    @Test func aDeadlineBoundsTheWaitForAConnection() async throws {
        let certs = try CertificateDirectory.shared()
        // The TCP connect succeeds, the TLS handshake never finishes; the
        // connect timeout is 5 s but the call gives up at its 300 ms deadline.
        let hole = try BlackHole()
        let ch = try Self.channel(port: hole.port, certs: certs)
        defer { ch.close() }
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .milliseconds(300))
            Issue.record("a call went through a black hole")
        } catch let e as RPCError {
            // Not UNAVAILABLE "connect timeout": the call's deadline ended the wait.
            #expect(e.code == .deadlineExceeded)
            #expect(e.message.contains("waiting for a connection"), "\(e.message)")
        }

        // Wait-for-ready against a refused port: the deadline ends the wait too.
        let refused = try Self.channel(port: try LoopbackSockets.freePort(), certs: certs)
        defer { refused.close() }
        do {
            _ = try await refused.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .milliseconds(700), waitForReady: true)
            Issue.record("connected to nothing")
        } catch let e as RPCError {
            #expect(e.code == .deadlineExceeded, "\(e)")
        }
    }

    @Test func cancellingAWaitingCallEndsItWithCancelled() async throws {
        let certs = try CertificateDirectory.shared()
        let ch = try Self.channel(port: try LoopbackSockets.freePort(), certs: certs)
        defer { ch.close() }
        let waiting = Task { try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(30), waitForReady: true) }
        try await Task.sleep(for: .milliseconds(300))
        waiting.cancel()
        do {
            _ = try await waiting.value
            Issue.record("connected to nothing")
        } catch let e as RPCError {
            #expect(e.code == .cancelled, "\(e)")
        }
    }

    @Test func theChannelReconnectsAfterTheServerRestarts() async throws {
        let first = try LoopbackHarness(routes: EchoService().routes)
        let port = first.port
        let ch = try Self.channel(port: port, certs: first.certs)
        defer { ch.close() }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5)) == [1])
        #expect(ch.connectivity == .ready)
        await first.stop()
        #expect(try await eventually { ch.connectivity != .ready })
        #expect(ch.connectivity == .idle)
        let restarted = Task {
            try await Task.sleep(for: .milliseconds(500))
            return try LoopbackHarness(routes: EchoService().routes, port: port)
        }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [2], timeout: .seconds(20), waitForReady: true) == [2])
        try await restarted.value.stop()
    }

    @Test func closingTheChannelFailsWaitingCalls() async throws {
        let certs = try CertificateDirectory.shared()
        let ch = try Self.channel(port: try LoopbackSockets.freePort(), certs: certs)
        let waiting = Task { try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(30), waitForReady: true) }
        try await Task.sleep(for: .milliseconds(300))
        ch.close()
        do {
            _ = try await waiting.value
            Issue.record("connected to nothing")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
            #expect(e.message == "the channel was closed")
        }
        #expect(ch.connectivity == .shutdown)
    }
}
