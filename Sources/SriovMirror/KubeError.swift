/// A failure talking to the Kubernetes API server.
///
/// `status` is the HTTP status when the server answered (its `Status`
/// object's message is in `message`); `retryAfter` is its Retry-After.
public struct KubeError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public var name: String
        public var description: String { name }
        /// The configuration (kubeconfig, in-cluster files) is unusable.
        public static let configuration = Code(name: "configuration")
        /// Connecting, TLS or reading and writing the socket failed.
        public static let transport = Code(name: "transport")
        /// The server answered with an HTTP error status.
        public static let httpStatus = Code(name: "http-status")
        /// The server's answer could not be understood.
        public static let protocolViolation = Code(name: "protocol")
    }

    public var code: Code
    public var message: String
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// The server's Retry-After, when it sent one.
    public var retryAfter: Duration?

    public init(_ code: Code, _ message: String, status: Int? = nil, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    public var description: String {
        if let status { return "Kubernetes API \(status): \(message)" }
        return "Kubernetes API \(code): \(message)"
    }

    /// Whether the same request may succeed later: transport failures, 409
    /// (a concurrent writer), 429 and 5xx.
    public var isRetryable: Bool {
        guard let status else { return code == .transport }
        return status == 409 || status == 429 || status >= 500
    }
}
