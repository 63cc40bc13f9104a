/// The failure of one RPC: a gRPC status code, a message and trailing
/// metadata. Thrown by handlers to end a call with that status, and by client
/// calls when the server ends the call with a status other than OK.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The gRPC status code; never `.ok`.
    public var code: StatusCode
    /// A human-readable message, sent as `grpc-message`.
    public var message: String
    /// Trailing metadata sent or received with the status.
    public var metadata: Metadata

    public init(code: StatusCode, message: String, metadata: Metadata = Metadata()) {
        self.code = code == .ok ? .unknown : code
        self.message = message
        self.metadata = metadata
    }

    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}

/// The final status of a call: a code, a message, trailing metadata.
public struct RPCStatus: Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var trailers: Metadata

    public init(code: StatusCode, message: String = "", trailers: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.trailers = trailers
    }

    /// The status of an error thrown out of a handler: an ``RPCError`` keeps
    /// its code; cancellation becomes CANCELLED; anything else is UNKNOWN
    /// with the error's description.
    public init(error: any Error) {
        switch error {
        case let e as RPCError:
            self.init(code: e.code, message: e.message, trailers: e.metadata)
        case is CancellationError:
            self.init(code: .cancelled, message: "the call was cancelled")
        default:
            self.init(code: .unknown, message: String(describing: error))
        }
    }

    public static var ok: Self { Self(code: .ok) }

    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }
}
