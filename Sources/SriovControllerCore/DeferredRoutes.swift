import SriovGRPC
import SriovProto
import SriovSync

/// Routes declared when the server starts whose handlers arrive later: the
/// server can listen (and answer health checks with NOT_SERVING) while the
/// store is opened and the first render runs. Until then, calls fail
/// UNAVAILABLE.
public final class DeferredRoutes: Sendable {
    private let handlers = Locked<[String: ServerRoute.Handler]>([:])
    private let declared: [(path: String, kind: RPCKind)]

    public init(_ methods: [any MethodDescribing]) {
        declared = methods.map { ($0.path, $0.kind) }
    }

    /// The placeholder routes to give the server.
    public var routes: [ServerRoute] {
        declared.map { d in
            let path = d.path
            return ServerRoute(path: path, kind: d.kind, handler: .async { [self] requests, writer, context in
                guard let real = handlers.withLock({ $0[path] }) else {
                    throw RPCError(code: .unavailable, message: "the controller is starting; retry shortly")
                }
                switch real {
                case .async(let body):
                    return try await body(requests, writer, context)
                case .inline(let body):
                    var it = requests.makeAsyncIterator()
                    let request = try await it.next() ?? []
                    return RawCallEnd(finalMessage: try body(request, context))
                }
            })
        }
    }

    /// Installs the real handlers.
    public func install(_ routes: [ServerRoute]) {
        handlers.withLock { table in
            for r in routes { table[r.path] = r.handler }
        }
    }
}
