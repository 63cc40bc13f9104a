import Foundation
import SriovGRPC
import Testing

/// Hostile HTTP/2 clients (Python h2): each attack is refused and the
/// server keeps serving other clients.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct AdversarialTests {
    static let attacks = [
        "rapid_reset", "continuation_flood", "oversized_headers", "garbage_preface", "half_open_tls",
        "five_mib_message", "malformed_grpc_frame", "truncated_grpc_frame", "ping_flood", "non_grpc_content_type",
        "early_response_reset",
    ]

    @Test(arguments: attacks)
    func attackIsRefusedAndTheServerKeepsServing(attack: String) async throws {
        let echo = EchoService()
        var limits = ServerConfiguration.Limits()
        limits.handshakeTimeout = .seconds(1)
        let h = try LoopbackHarness(routes: echo.routes + HealthService().routes, limits: limits)
        let out = try await ProcessRunner.run(ProcessRunner.python, [
            ProcessRunner.interopDirectory + "/h2_attacks.py", "127.0.0.1", String(h.port),
            h.certs.path("ca.crt"), h.certs.path("node-n1.crt"), h.certs.path("node-n1.key"), attack,
        ])
        // Our own client is served too.
        let ch = try h.channel()
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [1]) == [1])
        ch.close()
        await h.stop()
        let line = try #require(out.stdout.split(separator: "\n").first, "\(out.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(result["refused"] as? Bool == true, "\(line)")
        #expect(result["healthy_after"] as? Bool == true, "\(line)")
    }
}
