import SriovProto
import SriovSync

/// `grpc.health.v1.Health`: Check (answered on the event loop) and Watch
/// (a stream of status changes). The empty service name stands for the
/// whole server.
public final class HealthService: Sendable {
    public typealias Status = GrpcHealthV1.HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status] = ["": .serving]
        var watchers: [UInt64: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Locked(State())

    public init() {}

    /// Serialized responses for each status value 0...3.
    private static let encoded: [[UInt8]] = (0...3).map { raw in
        var r = GrpcHealthV1.HealthCheckResponse()
        r.status = Status(rawValue: Int32(raw))
        return r.serializedBytes()
    }

    /// Sets a service's status and tells its watchers.
    public func setStatus(_ status: Status, for service: String = "") {
        let watchers = state.withLock { s -> [AsyncStream<Status>.Continuation] in
            s.statuses[service] = status
            return s.watchers.values.filter { $0.service == service }.map(\.continuation)
        }
        for w in watchers { w.yield(status) }
    }

    /// Marks every service NOT_SERVING (on shutdown).
    public func enterShutdown() {
        let services = state.withLock { Array($0.statuses.keys) }
        for s in services { setStatus(.notServing, for: s) }
    }

    /// The status of a service, nil when unknown.
    public func status(of service: String) -> Status? {
        state.withLock { $0.statuses[service] }
    }

    /// The routes to register with a server.
    public var routes: [ServerRoute] {
        [
            // Inline on the loop; the common request (the whole server, an
            // empty message) is answered from pre-encoded bytes.
            ServerRoute(path: GrpcHealthV1.Health.check.path, kind: .unary, handler: .inline { [self] bytes, _ in
                let service = bytes.isEmpty ? "" : try decodeRequest(GrpcHealthV1.HealthCheckRequest.self, bytes).service
                guard let status = status(of: service) else {
                    throw RPCError(code: .notFound, message: "unknown service \"\(service)\"")
                }
                if (0...3).contains(status.rawValue) { return HealthService.encoded[Int(status.rawValue)] }
                var response = GrpcHealthV1.HealthCheckResponse()
                response.status = status
                return response.serializedBytes()
            }),
            .serverStreaming(GrpcHealthV1.Health.watch) { [self] request, writer, _ in
                let (stream, continuation) = AsyncStream<Status>.makeStream(bufferingPolicy: .bufferingNewest(1))
                let id = state.withLock { s -> UInt64 in
                    s.nextID += 1
                    s.watchers[s.nextID] = (request.service, continuation)
                    continuation.yield(s.statuses[request.service] ?? .serviceUnknown)
                    return s.nextID
                }
                defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
                var last: Status?
                for await status in stream {
                    try Task.checkCancellation()
                    if status == last { continue }
                    last = status
                    var response = GrpcHealthV1.HealthCheckResponse()
                    response.status = status
                    try await writer.write(response)
                }
                throw CancellationError()
            },
        ]
    }
}
