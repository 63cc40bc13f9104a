import Foundation
import SriovGRPC
import Synchronization

/// A test service over raw bytes, for every call kind.
///
/// - `/test.Echo/Unary`: echoes the request.
/// - `/test.Echo/ServerStream`: request byte 0 = count; sends `count`
///   messages `[i]`.
/// - `/test.Echo/ClientStream`: concatenates all requests.
/// - `/test.Echo/Bidi`: echoes each request as it comes.
/// - `/test.Echo/Fail`: ends with the status in metadata `x-code` and the
///   message in `x-message` (or UTF-8 in `x-message-bin`).
/// - `/test.Echo/Sleep`: waits until cancelled, counting cancellations.
/// - `/test.Echo/Whoami`: answers the peer's SPIFFE ID and the request's
///   `x-` metadata, one `key=value` a line (binary values as byte lists).
/// - `/test.Echo/Identity`: answers the caller's typed identity,
///   `TRUST-DOMAIN ROLE NAME`, or `none`.
/// - `/test.Echo/UserAgent`: answers the caller's `user-agent`.
/// - `/test.Echo/Size`: request = 4-byte big-endian size; answers that many bytes.
final class EchoService: Sendable {
    let cancellations = Atomic<Int>(0)
    let sleeping = Atomic<Int>(0)

    var routes: [ServerRoute] {
        [
            ServerRoute(path: "/test.Echo/Unary", kind: .unary, handler: .async { requests, _, _ in
                var it = requests.makeAsyncIterator()
                return RawCallEnd(finalMessage: try await it.next() ?? [])
            }),
            ServerRoute(path: "/test.Echo/ServerStream", kind: .serverStreaming, handler: .async { requests, writer, _ in
                var it = requests.makeAsyncIterator()
                let count = Int((try await it.next() ?? [0]).first ?? 0)
                for i in 0..<count { try await writer.write([UInt8(truncatingIfNeeded: i)]) }
                return RawCallEnd()
            }),
            ServerRoute(path: "/test.Echo/ClientStream", kind: .clientStreaming, handler: .async { requests, _, _ in
                var all: [UInt8] = []
                for try await m in requests { all += m }
                return RawCallEnd(finalMessage: all)
            }),
            ServerRoute(path: "/test.Echo/Bidi", kind: .bidirectionalStreaming, handler: .async { requests, writer, _ in
                for try await m in requests { try await writer.write(m) }
                return RawCallEnd()
            }),
            ServerRoute(path: "/test.Echo/Fail", kind: .unary, handler: .async { _, _, context in
                let code = StatusCode(rawValue: Int(context.metadata["x-code"] ?? "") ?? 2) ?? .unknown
                var trailers = Metadata()
                trailers.add("x-detail", "detail")
                let message = context.metadata.bytes(for: "x-message-bin").map { String(decoding: $0, as: UTF8.self) }
                throw RPCError(code: code, message: message ?? context.metadata["x-message"] ?? "", metadata: trailers)
            }),
            ServerRoute(path: "/test.Echo/Sleep", kind: .unary, handler: .async { [self] _, _, _ in
                sleeping.add(1, ordering: .relaxed)
                defer { sleeping.subtract(1, ordering: .relaxed) }
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    cancellations.add(1, ordering: .relaxed)
                    throw error
                }
                return RawCallEnd(finalMessage: [])
            }),
            ServerRoute(path: "/test.Echo/Whoami", kind: .unary, handler: .async { _, _, context in
                var lines = [context.peer.identity?.uri ?? "none"]
                for (k, v) in context.metadata where k.hasPrefix("x-") {
                    switch v {
                    case .string(let s): lines.append("\(k)=\(s)")
                    case .binary(let b): lines.append("\(k)=\(b.map(String.init).joined(separator: ","))")
                    }
                }
                return RawCallEnd(finalMessage: Array(lines.joined(separator: "\n").utf8))
            }),
            ServerRoute(path: "/test.Echo/Identity", kind: .unary, handler: .async { _, _, context in
                let id = context.peer.identity
                return RawCallEnd(finalMessage: Array((id.map { "\($0.trustDomain) \($0.role.rawValue) \($0.name)" } ?? "none").utf8))
            }),
            ServerRoute(path: "/test.Echo/UserAgent", kind: .unary, handler: .async { _, _, context in
                RawCallEnd(finalMessage: Array((context.userAgent ?? "").utf8))
            }),
            ServerRoute(path: "/test.Echo/Size", kind: .unary, handler: .async { requests, _, _ in
                var it = requests.makeAsyncIterator()
                let b = try await it.next() ?? []
                guard b.count == 4 else { throw RPCError(code: .invalidArgument, message: "want 4 bytes") }
                let n = Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
                return RawCallEnd(finalMessage: [UInt8](repeating: 0x5a, count: n))
            }),
        ]
    }
}
