/// The four gRPC call shapes.
public enum RPCKind: String, Sendable, Hashable {
    case unary
    case serverStreaming
    case clientStreaming
    case bidirectionalStreaming

    /// The client sends a stream of requests.
    public var isClientStreaming: Bool { self == .clientStreaming || self == .bidirectionalStreaming }
    /// The server sends a stream of responses.
    public var isServerStreaming: Bool { self == .serverStreaming || self == .bidirectionalStreaming }
}

/// What every method descriptor says, without its message types.
public protocol MethodDescribing: Sendable {
    /// Fully-qualified service name, e.g. `sriov.v1.Operator`.
    var service: String { get }
    /// Method name, e.g. `ApplyPolicy`.
    var method: String { get }
    var kind: RPCKind { get }
    /// The HTTP/2 `:path`, `/sriov.v1.Operator/ApplyPolicy`.
    var path: String { get }
    /// Fully-qualified request and response message names.
    var inputName: String { get }
    var outputName: String { get }
}

/// One RPC of a service with its request and response types (generated).
public struct MethodDescriptor<Input: ProtobufMessage, Output: ProtobufMessage>: MethodDescribing, Hashable {
    public let service: String
    public let method: String
    public let kind: RPCKind

    public init(service: String, method: String, kind: RPCKind) {
        self.service = service
        self.method = method
        self.kind = kind
    }

    public var path: String { "/\(service)/\(method)" }
    public var inputName: String { Input.protoMessageName }
    public var outputName: String { Output.protoMessageName }
}
