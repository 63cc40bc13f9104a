import Foundation
import SriovGRPC
import SriovProto
import Testing

/// Our client against our server over loopback mTLS.
@Suite(.timeLimit(.minutes(1)), .serialized)
struct LoopbackTests {
    let echo = EchoService()

    func withHarness(limits: ServerConfiguration.Limits = .defaults, _ body: (LoopbackHarness, GRPCChannel) async throws -> Void) async throws {
        let health = HealthService()
        let h = try LoopbackHarness(routes: echo.routes + health.routes, limits: limits)
        let ch = try h.channel()
        do {
            try await body(h, ch)
        } catch {
            ch.close()
            await h.stop()
            throw error
        }
        ch.close()
        await h.stop()
    }

    @Test func unaryEchoesTheRequest() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1, 2, 3]) == [1, 2, 3])
            #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", []) == [])
        }
    }

    @Test func typedHealthCheckIsServing() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let r = try await ch.unary(GrpcHealthV1.Health.check, GrpcHealthV1.HealthCheckRequest())
            #expect(r.status == .serving)
            var unknown = GrpcHealthV1.HealthCheckRequest()
            unknown.service = "nope"
            await #expect(throws: RPCError.self) { try await ch.unary(GrpcHealthV1.Health.check, unknown) }
        }
    }

    @Test func serverStreamingDeliversEveryMessageInOrder() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let call = try await ch.openCall(path: "/test.Echo/ServerStream")
            try await call.send([200])
            call.closeSend()
            var got: [UInt8] = []
            while let m = try await call.receive() { got += m }
            #expect(got == (0..<200).map { UInt8($0) })
        }
    }

    @Test func clientStreamingConcatenatesRequests() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let call = try await ch.openCall(path: "/test.Echo/ClientStream")
            for i in 0..<100 { try await call.send([UInt8(i)]) }
            call.closeSend()
            #expect(try await call.receive() == (0..<100).map { UInt8($0) })
            #expect(try await call.receive() == nil)
        }
    }

    @Test func bidirectionalStreamingEchoesEachMessageBeforeTheNextIsSent() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let call = try await ch.openCall(path: "/test.Echo/Bidi")
            for i in 0..<50 {
                try await call.send([UInt8(i), 7])
                #expect(try await call.receive() == [UInt8(i), 7])
            }
            call.closeSend()
            #expect(try await call.receive() == nil)
        }
    }

    @Test(arguments: [StatusCode.invalidArgument, .notFound, .permissionDenied, .resourceExhausted, .internal, .unauthenticated, .dataLoss])
    func errorStatusesReachTheClientWithMessageAndTrailers(code: StatusCode) async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            var md = Metadata()
            md.add("x-code", String(code.rawValue))
            md.add("x-message-bin", bytes: Array("bad thing: 100% ünïcode\nline".utf8))
            do {
                _ = try await ch.unaryRaw(path: "/test.Echo/Fail", [], metadata: md)
                Issue.record("expected \(code)")
            } catch let e as RPCError {
                #expect(e.code == code)
                #expect(e.message == "bad thing: 100% ünïcode\nline")
                #expect(e.metadata["x-detail"] == "detail")
            }
        }
    }

    @Test func nonASCIITextMetadataIsRefusedBeforeSending() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            var md = Metadata()
            md.add("x-message", "ünïcode")
            await #expect(throws: RPCError.self) { try await ch.unaryRaw(path: "/test.Echo/Unary", [], metadata: md) }
            #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [3]) == [3])
        }
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            await #expect(throws: RPCError(code: .unimplemented, message: "method /test.Echo/Nope is not implemented")) {
                try await ch.unaryRaw(path: "/test.Echo/Nope", [])
            }
        }
    }

    @Test func metadataTextAndBinaryReachTheHandlerWithThePeerIdentity() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            var md = Metadata()
            md.add("x-text", "hello world")
            md.add("x-data-bin", bytes: [0, 255, 10])
            let r = try await ch.unaryRaw(path: "/test.Echo/Whoami", [], metadata: md)
            let lines = String(decoding: r, as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(lines == ["spiffe://sriov.local/node/n1", "x-text=hello world", "x-data-bin=0,255,10"])
        }
    }

    @Test func deadlineExceededEndsTheCallAndCancelsTheHandler() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let before = echo.cancellations.load(ordering: .relaxed)
            do {
                _ = try await ch.unaryRaw(path: "/test.Echo/Sleep", [], timeout: .milliseconds(200))
                Issue.record("expected DEADLINE_EXCEEDED")
            } catch let e as RPCError {
                #expect(e.code == .deadlineExceeded)
            }
            for _ in 0..<200 where echo.cancellations.load(ordering: .relaxed) == before {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(echo.cancellations.load(ordering: .relaxed) > before)
        }
    }

    @Test func cancellingTheCallerCancelsTheServerHandler() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let before = echo.cancellations.load(ordering: .relaxed)
            let task = Task { try await ch.unaryRaw(path: "/test.Echo/Sleep", []) }
            for _ in 0..<200 where echo.sleeping.load(ordering: .relaxed) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            task.cancel()
            await #expect(throws: RPCError.self) { try await task.value }
            for _ in 0..<200 where echo.cancellations.load(ordering: .relaxed) == before {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(echo.cancellations.load(ordering: .relaxed) > before)
        }
    }

    @Test(arguments: [(4 * 1024 * 1024 - 5, false), (4 * 1024 * 1024 + 1, true)])
    func requestsJustUnderTheLimitPassJustOverAreResourceExhausted(size: Int, rejected: Bool) async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let payload = [UInt8](repeating: 0xab, count: size)
            do {
                let r = try await ch.unaryRaw(path: "/test.Echo/Unary", payload)
                #expect(!rejected)
                #expect(r.count == size)
            } catch let e as RPCError {
                #expect(rejected)
                #expect(e.code == .resourceExhausted)
            }
            // The connection keeps serving.
            #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [9]) == [9])
        }
    }

    @Test func responsesOverTheClientLimitAreResourceExhausted() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            let n = 4 * 1024 * 1024 + 1
            await #expect(throws: RPCError.self) {
                try await ch.unaryRaw(path: "/test.Echo/Size", [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)])
            }
            let ok = 1 << 20
            #expect(try await ch.unaryRaw(path: "/test.Echo/Size", [0, UInt8(ok >> 16), 0, 0]).count == ok)
        }
    }

    @Test func manyConcurrentStreamsOnOneConnection() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<500 {
                    group.addTask {
                        let payload = [UInt8(i & 0xff), UInt8(i >> 8)]
                        return try await ch.unaryRaw(path: "/test.Echo/Unary", payload) == payload
                    }
                }
                var ok = 0
                for try await r in group where r { ok += 1 }
                #expect(ok == 500)
            }
        }
    }

    @Test func gracefulShutdownLetsCallsInFlightFinish() async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        let ch = try h.channel()
        let call = try await ch.openCall(path: "/test.Echo/Bidi")
        try await call.send([1])
        #expect(try await call.receive() == [1])
        let shutdown = Task { await h.server.shutdown(gracePeriod: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        // The call in flight still works during the drain.
        try await call.send([2])
        #expect(try await call.receive() == [2])
        call.closeSend()
        #expect(try await call.receive() == nil)
        await shutdown.value
        #expect(h.server.connectionCount == 0)
        // New calls are refused.
        await #expect(throws: RPCError.self) { try await ch.unaryRaw(path: "/test.Echo/Unary", [1]) }
        ch.close()
    }

    @Test func shutdownGracePeriodCancelsCallsThatDoNotFinish() async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        let ch = try h.channel()
        let before = echo.cancellations.load(ordering: .relaxed)
        let task = Task { try await ch.unaryRaw(path: "/test.Echo/Sleep", []) }
        for _ in 0..<200 where echo.sleeping.load(ordering: .relaxed) == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        await h.server.shutdown(gracePeriod: .milliseconds(200))
        await #expect(throws: RPCError.self) { try await task.value }
        for _ in 0..<200 where echo.cancellations.load(ordering: .relaxed) == before {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(echo.cancellations.load(ordering: .relaxed) > before)
        ch.close()
    }

    @Test func slowReaderMakesTheServerWriterWaitInsteadOfBuffering() async throws {
        try await withHarness { (_: LoopbackHarness, ch: GRPCChannel) async throws in
            // 255 messages of 1 byte are small; use the Size route through a
            // bidi echo of large messages instead: send 64 × 256 KiB without
            // reading, then read them all back.
            let call = try await ch.openCall(path: "/test.Echo/Bidi")
            let big = [UInt8](repeating: 1, count: 256 * 1024)
            let sender = Task {
                for _ in 0..<64 { try await call.send(big) }
                call.closeSend()
            }
            try await Task.sleep(for: .milliseconds(300))
            var total = 0
            while let m = try await call.receive() { total += m.count }
            try await sender.value
            #expect(total == 64 * big.count)
        }
    }

    @Test func healthWatchStreamsStatusChanges() async throws {
        let health = HealthService()
        let h = try LoopbackHarness(routes: health.routes)
        let ch = try h.channel()
        var request = GrpcHealthV1.HealthCheckRequest()
        request.service = "svc"
        let seen = try await ch.serverStreaming(GrpcHealthV1.Health.watch, request) { responses in
            var seen: [GrpcHealthV1.HealthCheckResponse.ServingStatus] = []
            for try await r in responses {
                seen.append(r.status)
                if seen.count == 1 { health.setStatus(.serving, for: "svc") }
                if seen.count == 2 { health.setStatus(.notServing, for: "svc") }
                if seen.count == 3 { break }
            }
            return seen
        }
        #expect(seen == [.serviceUnknown, .serving, .notServing])
        ch.close()
        await h.stop()
    }

    @Test func plaintextH2CWorksWhenBothSidesAskForIt() async throws {
        let h = try LoopbackHarness(routes: echo.routes, plaintext: true)
        let ch = try h.channel(plaintext: true)
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [5]) == [5])
        ch.close()
        await h.stop()
    }

    @Test func channelReconnectsAfterTheServerClosesTheConnection() async throws {
        let h = try LoopbackHarness(routes: echo.routes, limits: {
            var l = ServerConfiguration.Limits()
            l.idleTimeout = .milliseconds(500)
            return l
        }())
        let ch = try h.channel()
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1]) == [1])
        // Idle timeout: the server sends GOAWAY and closes within ~1.5 s.
        for _ in 0..<300 where h.server.connectionCount > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(h.server.connectionCount == 0)
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [2]) == [2])
        ch.close()
        await h.stop()
    }
}
