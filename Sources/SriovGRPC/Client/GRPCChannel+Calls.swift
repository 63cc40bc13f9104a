import SriovProto

/// Typed responses of a streaming call.
public struct ResponseStream<Message: ProtobufMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    let call: RawClientCall

    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: RawClientCall
        public mutating func next() async throws -> Message? {
            guard let bytes = try await call.receive() else { return nil }
            return try decodeResponse(Message.self, bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }
}

/// Typed requests of a streaming call.
public struct RequestWriter<Message: ProtobufMessage>: Sendable {
    let call: RawClientCall

    /// Sends one request; suspends while the server is slow to read.
    public func write(_ message: Message) async throws { try await call.send(message.serializedBytes()) }

    /// Ends the request stream (the server sees end-of-stream).
    public func finish() { call.closeSend() }
}

func decodeResponse<M: ProtobufMessage>(_ type: M.Type, _ bytes: [UInt8]) throws -> M {
    do {
        return try M(serializedBytes: bytes)
    } catch {
        throw RPCError(code: .internal, message: "could not decode response \(M.protoMessageName): \(error)")
    }
}

extension GRPCChannel {
    /// Sends one request, returns the one response.
    ///
    /// - Throws: ``RPCError`` with the server's status, UNAVAILABLE when no
    ///   connection can be made, DEADLINE_EXCEEDED after `timeout`.
    ///
    /// `timeout` covers the whole call, including waiting for a connection.
    /// With `waitForReady`, a call made while the channel backs off after a
    /// failed connection waits for the next attempt instead of failing fast
    /// (gRPC's wait-for-ready); the same holds for every call kind below.
    public func unary<I, O>(
        _ method: MethodDescriptor<I, O>, _ request: I, metadata: Metadata = Metadata(), timeout: Duration? = nil, waitForReady: Bool = false
    ) async throws -> O {
        let bytes = try await unaryRaw(path: method.path, request.serializedBytes(), metadata: metadata, timeout: timeout, waitForReady: waitForReady)
        return try decodeResponse(O.self, bytes)
    }

    /// Unary over serialized messages.
    public func unaryRaw(path: String, _ request: [UInt8], metadata: Metadata = Metadata(), timeout: Duration? = nil, waitForReady: Bool = false) async throws -> [UInt8] {
        var attempt = 0
        while true {
            let call = try await open(path: path, metadata: metadata, timeout: timeout, waitForReady: waitForReady, initial: request, halfClose: true)
            do {
                return try await withTaskCancellationHandler {
                    try await Self.single(call)
                } onCancel: {
                    call.cancel()
                }
            } catch let e as RPCError where e.code == .unavailable && attempt == 0 && call.wasNotSent {
                // gRPC's transparent retry: the server never saw the call.
                attempt += 1
            }
        }
    }

    static func single(_ call: RawClientCall) async throws -> [UInt8] {
        guard let response = try await call.receive() else {
            throw RPCError(code: .unimplemented, message: "the server sent no response message")
        }
        if try await call.receive() != nil {
            call.cancel()
            throw RPCError(code: .unimplemented, message: "the server sent more than one response message")
        }
        return response
    }

    /// Sends one request; `body` reads the responses. Leaving `body` early
    /// cancels the call.
    public func serverStreaming<I, O, R: Sendable>(
        _ method: MethodDescriptor<I, O>, _ request: I, metadata: Metadata = Metadata(), timeout: Duration? = nil, waitForReady: Bool = false,
        _ body: (ResponseStream<O>) async throws -> R
    ) async throws -> R {
        let call = try await open(path: method.path, metadata: metadata, timeout: timeout, waitForReady: waitForReady, initial: request.serializedBytes(), halfClose: true)
        return try await withTaskCancellationHandler {
            defer { call.cancel() }
            return try await body(ResponseStream(call: call))
        } onCancel: {
            call.cancel()
        }
    }

    /// `body` writes the requests; returns the one response.
    public func clientStreaming<I, O>(
        _ method: MethodDescriptor<I, O>, metadata: Metadata = Metadata(), timeout: Duration? = nil, waitForReady: Bool = false,
        _ body: (RequestWriter<I>) async throws -> Void
    ) async throws -> O {
        let call = try await open(path: method.path, metadata: metadata, timeout: timeout, waitForReady: waitForReady, initial: nil, halfClose: false)
        return try await withTaskCancellationHandler {
            do {
                try await body(RequestWriter(call: call))
            } catch {
                // A failed write carries the status the call ended with.
                call.cancel()
                throw error
            }
            call.closeSend()
            return try decodeResponse(O.self, try await Self.single(call))
        } onCancel: {
            call.cancel()
        }
    }

    /// `body` writes requests and reads responses concurrently as it likes;
    /// the request stream ends when `body` calls `finish()` or returns.
    public func bidirectionalStreaming<I, O, R: Sendable>(
        _ method: MethodDescriptor<I, O>, metadata: Metadata = Metadata(), timeout: Duration? = nil, waitForReady: Bool = false,
        _ body: (RequestWriter<I>, ResponseStream<O>) async throws -> R
    ) async throws -> R {
        let call = try await open(path: method.path, metadata: metadata, timeout: timeout, waitForReady: waitForReady, initial: nil, halfClose: false)
        return try await withTaskCancellationHandler {
            defer { call.cancel() }
            let r = try await body(RequestWriter(call: call), ResponseStream(call: call))
            call.closeSend()
            return r
        } onCancel: {
            call.cancel()
        }
    }

    /// Opens a raw call of any kind: the caller sends, half-closes and
    /// receives (for generic clients and tests).
    public func openCall(path: String, metadata: Metadata = Metadata(), timeout: Duration? = nil, waitForReady: Bool = false) async throws -> RawClientCall {
        try await open(path: path, metadata: metadata, timeout: timeout, waitForReady: waitForReady, initial: nil, halfClose: false)
    }
}
