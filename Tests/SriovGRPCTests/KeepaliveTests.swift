import Foundation
@testable import SriovGRPC
import Testing

/// Keepalive PINGs both ways. A frozen TCP proxy (SIGSTOP, by PID) stands in
/// for a peer that hangs or a link that dies without closing the socket.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct KeepaliveTests {
    /// A server that tolerates frequent client PINGs.
    static var lenientLimits: ServerConfiguration.Limits {
        var l = ServerConfiguration.Limits()
        l.minPingInterval = .milliseconds(10)
        return l
    }

    @Test func theClientClosesAConnectionWhoseServerStopsAnsweringPings() async throws {
        let echo = EchoService()
        let h = try LoopbackHarness(routes: echo.routes, limits: Self.lenientLimits)
        let proxy = try await PythonPeer.start("tcp_proxy.py", [String(h.port)])
        defer { proxy.stop() }
        let ch = try h.channel(port: proxy.port) {
            $0.keepalive = ClientKeepalive(interval: .milliseconds(200), timeout: .milliseconds(600))
        }
        defer { ch.close() }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(10)) == [1])

        let call = try await ch.openCall(path: "/test.Echo/Sleep", timeout: .seconds(60))
        try await call.send([])
        call.closeSend()
        #expect(try await eventually { echo.sleeping.load(ordering: .relaxed) == 1 })
        // PINGs flow and are answered while the link is healthy.
        try await Task.sleep(for: .milliseconds(700))
        #expect(ch.connectivity == .ready)
        proxy.freeze()
        let frozenAt = ContinuousClock.now
        do {
            _ = try await call.receive()
            Issue.record("the call outlived a dead link")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("keepalive: the server did not acknowledge a PING within"), "\(e.message)")
        }
        // Well before the call's 60 s deadline: interval + timeout, with slack for a loaded machine.
        #expect(ContinuousClock.now - frozenAt < .seconds(20))
        await h.stop()
    }

    @Test func theServerClosesAConnectionWhoseClientStopsAnsweringPings() async throws {
        let echo = EchoService()
        var limits = ServerConfiguration.Limits()
        limits.keepaliveInterval = .milliseconds(200)
        limits.keepaliveTimeout = .milliseconds(600)
        let h = try LoopbackHarness(routes: echo.routes, limits: limits)
        let proxy = try await PythonPeer.start("tcp_proxy.py", [String(h.port)])
        defer { proxy.stop() }
        let ch = try h.channel(port: proxy.port)
        defer { ch.close() }
        let call = try await ch.openCall(path: "/test.Echo/Sleep", timeout: .seconds(60))
        try await call.send([])
        call.closeSend()
        #expect(try await eventually { echo.sleeping.load(ordering: .relaxed) == 1 })
        // While the client answers, PINGs go out and nothing is closed.
        #expect(try await eventually { h.server.metrics.keepalivePings.load(ordering: .relaxed) >= 2 })
        #expect(h.server.metrics.keepaliveTimeouts.load(ordering: .relaxed) == 0)
        proxy.freeze()
        // The silent client's connection is closed and its handler cancelled.
        #expect(try await eventually(.seconds(20)) { h.server.metrics.keepaliveTimeouts.load(ordering: .relaxed) == 1 })
        #expect(try await eventually { echo.cancellations.load(ordering: .relaxed) == 1 })
        #expect(try await eventually { h.server.connectionCount == 0 })
        #expect(h.log.all.contains { $0.contains("stopped answering keepalive PINGs") })
        call.cancel()
        await h.stop()
    }

    @Test func tooManyPingsMakesTheClientBackOff() async throws {
        // gRPC's default policy: a PING without data more often than every
        // 5 min is a strike; the third strike is GOAWAY too_many_pings.
        let h = try LoopbackHarness(routes: EchoService().routes)
        let ch = try h.channel {
            $0.keepalive = ClientKeepalive(interval: .milliseconds(100), permitWithoutCalls: true)
        }
        defer { ch.close() }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(10)) == [1])
        #expect(try await eventually { ch.keepaliveInterval == .milliseconds(200) })
        // The connection went away with the GOAWAY; the next call opens a new one.
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [2], timeout: .seconds(10)) == [2])
        await h.stop()
    }

    @Test func pingsFromBothSidesKeepALongCallAlive() async throws {
        let echo = EchoService()
        var limits = Self.lenientLimits
        limits.keepaliveInterval = .milliseconds(100)
        limits.keepaliveTimeout = .seconds(5)
        let h = try LoopbackHarness(routes: echo.routes, limits: limits)
        // Client PINGs every 300 ms; the server PINGs after 100 ms of silence
        // (a client PING counts as activity), so both sides send some.
        let ch = try h.channel {
            $0.keepalive = ClientKeepalive(interval: .milliseconds(300), timeout: .seconds(5))
        }
        defer { ch.close() }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(10)) == [1])
        // A call with no data either way stays up while PINGs go both ways.
        let call = try await ch.openCall(path: "/test.Echo/Sleep", timeout: .seconds(60))
        try await call.send([])
        call.closeSend()
        #expect(try await eventually(.seconds(20)) {
            h.server.metrics.keepalivePings.load(ordering: .relaxed) >= 3 && h.server.metrics.pingsReceived.load(ordering: .relaxed) >= 3
        })
        #expect(echo.sleeping.load(ordering: .relaxed) == 1)
        #expect(h.server.metrics.keepaliveTimeouts.load(ordering: .relaxed) == 0)
        #expect(ch.connectivity == .ready)
        #expect(ch.keepaliveInterval == .milliseconds(300))
        call.cancel()
        #expect(try await eventually { echo.cancellations.load(ordering: .relaxed) == 1 })
        await h.stop()
    }

    @Test func keepalivePingsDoNotHoldOffTheIdleTimeout() async throws {
        var limits = ServerConfiguration.Limits()
        limits.keepaliveInterval = .milliseconds(100)
        limits.idleTimeout = .milliseconds(700)
        let h = try LoopbackHarness(routes: EchoService().routes, limits: limits)
        let ch = try h.channel()
        defer { ch.close() }
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5)) == [1])
        // The server PINGs the silent connection, and still closes it as idle.
        #expect(try await eventually { h.server.connectionCount == 0 })
        #expect(h.server.metrics.keepalivePings.load(ordering: .relaxed) >= 1)
        #expect(h.server.metrics.keepaliveTimeouts.load(ordering: .relaxed) == 0)
        await h.stop()
    }
}
