import Foundation
@testable import SriovGRPC
import SriovProto
import Testing

/// After a storm of connections and calls every server connection and stream
/// object is freed (their deinit frees the SSL and nghttp2 objects).
@Suite(.timeLimit(.minutes(2)), .serialized)
struct LeakTests {
    @Test func connectionStormLeavesNoLiveObjects() async throws {
        let echo = EchoService()
        let h = try LoopbackHarness(routes: echo.routes + HealthService().routes)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in 0..<40 {
                        let ch = try h.channel()
                        _ = try await ch.unary(GrpcHealthV1.Health.check, .init())
                        // Some calls end abnormally: cancelled, deadline, errors.
                        if (i + worker) % 4 == 0 {
                            _ = try? await ch.unaryRaw(path: "/test.Echo/Sleep", [], timeout: .milliseconds(20))
                        }
                        if (i + worker) % 5 == 0 {
                            let call = try await ch.openCall(path: "/test.Echo/Bidi")
                            try await call.send([1])
                            _ = try await call.receive()
                            call.cancel()
                        }
                        ch.close()
                    }
                }
            }
            try await group.waitForAll()
        }
        let live = h.server.live
        for _ in 0..<500 where live.connections.load(ordering: .relaxed) > 0 || live.streams.load(ordering: .relaxed) > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(h.server.connectionCount == 0)
        #expect(live.connections.load(ordering: .relaxed) == 0)
        #expect(live.streams.load(ordering: .relaxed) == 0)
        await h.stop()
    }
}
