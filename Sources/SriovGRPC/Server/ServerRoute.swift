import SriovProto

/// What an async handler ends a call with: an optional last message (sent
/// before the status; unary and client-streaming responses travel here, so
/// that message and status go out together) and trailing metadata.
public struct RawCallEnd: Sendable {
    public var finalMessage: [UInt8]?
    public var trailers: Metadata

    public init(finalMessage: [UInt8]? = nil, trailers: Metadata = Metadata()) {
        self.finalMessage = finalMessage
        self.trailers = trailers
    }
}

/// One method a server answers: its `:path`, call kind and handler.
public struct ServerRoute: Sendable {
    /// A handler over serialized messages.
    public enum Handler: Sendable {
        /// Runs on the event loop with the single request: for cheap,
        /// non-blocking unary methods (health checks). Never blocks.
        case inline(@Sendable (_ request: [UInt8], _ context: ServerContext) throws -> [UInt8])
        /// Runs in its own task for any call kind.
        case async(@Sendable (_ requests: RawRequestStream, _ writer: RawResponseWriter, _ context: ServerContext) async throws -> RawCallEnd)
    }

    public let path: String
    public let kind: RPCKind
    public let handler: Handler

    public init(path: String, kind: RPCKind, handler: Handler) {
        self.path = path
        self.kind = kind
        self.handler = handler
    }
}

/// Requests of a call as serialized messages.
public struct RawRequestStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let queue: MessageQueue

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: MessageQueue
        public mutating func next() async throws -> [UInt8]? { try await queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue) }
}

/// Sends serialized responses of a call. Writes must not overlap: await
/// each before the next. A write suspends while too much is queued for a
/// slow reader.
public struct RawResponseWriter: Sendable {
    let send: @Sendable ([UInt8]) async throws -> Void

    public func write(_ message: [UInt8]) async throws { try await send(message) }
}

/// Typed requests.
public struct RequestStream<Message: ProtobufMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    let raw: RawRequestStream

    public struct AsyncIterator: AsyncIteratorProtocol {
        var raw: RawRequestStream.AsyncIterator
        public mutating func next() async throws -> Message? {
            guard let bytes = try await raw.next() else { return nil }
            return try decodeRequest(Message.self, bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(raw: raw.makeAsyncIterator()) }
}

/// Typed responses.
public struct ResponseWriter<Message: ProtobufMessage>: Sendable {
    let raw: RawResponseWriter
    public func write(_ message: Message) async throws { try await raw.write(message.serializedBytes()) }
}

func decodeRequest<M: ProtobufMessage>(_ type: M.Type, _ bytes: [UInt8]) throws -> M {
    do {
        return try M(serializedBytes: bytes)
    } catch {
        throw RPCError(code: .internal, message: "could not decode request \(M.protoMessageName): \(error)")
    }
}

func singleRequest(_ requests: RawRequestStream) async throws -> [UInt8] {
    var it = requests.makeAsyncIterator()
    guard let first = try await it.next() else {
        throw RPCError(code: .unimplemented, message: "expected exactly one request message, got none")
    }
    if try await it.next() != nil {
        throw RPCError(code: .unimplemented, message: "expected exactly one request message, got more")
    }
    return first
}

extension ServerRoute {
    /// A unary method run in a task.
    public static func unary<I, O>(_ m: MethodDescriptor<I, O>, _ body: @escaping @Sendable (I, ServerContext) async throws -> O) -> ServerRoute {
        ServerRoute(path: m.path, kind: .unary, handler: .async { requests, _, context in
            let request = try decodeRequest(I.self, try await singleRequest(requests))
            return RawCallEnd(finalMessage: try await body(request, context).serializedBytes())
        })
    }

    /// A unary method run on the event loop: `body` must not block.
    public static func unaryInline<I, O>(_ m: MethodDescriptor<I, O>, _ body: @escaping @Sendable (I, ServerContext) throws -> O) -> ServerRoute {
        ServerRoute(path: m.path, kind: .unary, handler: .inline { bytes, context in
            try body(try decodeRequest(I.self, bytes), context).serializedBytes()
        })
    }

    /// One request, a stream of responses.
    public static func serverStreaming<I, O>(_ m: MethodDescriptor<I, O>, _ body: @escaping @Sendable (I, ResponseWriter<O>, ServerContext) async throws -> Void) -> ServerRoute {
        ServerRoute(path: m.path, kind: .serverStreaming, handler: .async { requests, writer, context in
            let request = try decodeRequest(I.self, try await singleRequest(requests))
            try await body(request, ResponseWriter(raw: writer), context)
            return RawCallEnd()
        })
    }

    /// A stream of requests, one response.
    public static func clientStreaming<I, O>(_ m: MethodDescriptor<I, O>, _ body: @escaping @Sendable (RequestStream<I>, ServerContext) async throws -> O) -> ServerRoute {
        ServerRoute(path: m.path, kind: .clientStreaming, handler: .async { requests, _, context in
            RawCallEnd(finalMessage: try await body(RequestStream(raw: requests), context).serializedBytes())
        })
    }

    /// Streams both ways.
    public static func bidirectionalStreaming<I, O>(_ m: MethodDescriptor<I, O>, _ body: @escaping @Sendable (RequestStream<I>, ResponseWriter<O>, ServerContext) async throws -> Void) -> ServerRoute {
        ServerRoute(path: m.path, kind: .bidirectionalStreaming, handler: .async { requests, writer, context in
            try await body(RequestStream(raw: requests), ResponseWriter(raw: writer), context)
            return RawCallEnd()
        })
    }
}
