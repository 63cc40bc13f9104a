import Foundation
import SriovGRPC
import Testing

/// What our client makes of answers that are not gRPC, from a real HTTP/2
/// server (Python h2): gRPC's HTTP-to-status mapping.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct HTTPStatusTests {
    /// gRPC's http-grpc-status-mapping: 400 INTERNAL, 401 UNAUTHENTICATED,
    /// 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504
    /// UNAVAILABLE, anything else UNKNOWN.
    static let table: [(Int, StatusCode)] = [
        (400, .internal), (401, .unauthenticated), (403, .permissionDenied), (404, .unimplemented),
        (429, .unavailable), (502, .unavailable), (503, .unavailable), (504, .unavailable),
        (500, .unknown), (418, .unknown), (301, .unknown),
    ]

    @Test func nonGRPCAnswersMapToStatuses() async throws {
        let peer = try await PythonPeer.start("http_status_server.py")
        defer { peer.stop() }
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: peer.port), security: .insecurePlaintext))
        defer { ch.close() }
        for (http, expected) in Self.table {
            // With a body, and as a single HEADERS frame that ends the stream.
            for path in ["/status/\(http)", "/status/\(http)/only"] {
                do {
                    _ = try await ch.unaryRaw(path: path, [1, 2, 3], timeout: .seconds(10))
                    Issue.record("\(path) succeeded")
                } catch let e as RPCError {
                    #expect(e.code == expected, "\(path): \(e)")
                    #expect(e.message.contains("HTTP status \(http)"), "\(path): \(e.message)")
                }
            }
        }
        // 200 but not gRPC.
        do {
            _ = try await ch.unaryRaw(path: "/html", [], timeout: .seconds(10))
            Issue.record("an HTML page was taken for a gRPC answer")
        } catch let e as RPCError {
            #expect(e.code == .unknown)
            #expect(e.message.contains("content-type text/html"), "\(e.message)")
        }
        // A grpc-status present wins over the HTTP status.
        do {
            _ = try await ch.unaryRaw(path: "/grpc-in-503", [], timeout: .seconds(10))
            Issue.record("succeeded")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
            #expect(e.message == "quota used")
        }
        // The connection survived all of it.
        #expect(ch.connectivity == .ready)
    }
}
