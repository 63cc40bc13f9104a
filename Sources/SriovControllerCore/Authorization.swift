import Logging
import SriovGRPC

/// Who may call what, decided from the caller's certificate identity alone.
///
/// | identity          | may call                                  |
/// | ----------------- | ----------------------------------------- |
/// | `operator/NAME`   | every Operator RPC                        |
/// | `viewer/NAME`     | Get*, List*, Watch*, DryRunPolicy         |
/// | `node/NAME`       | Agent RPCs, for node NAME only            |
///
/// Everything else is PERMISSION_DENIED, naming the identity and the RPC.
public enum Authorization {
    /// What an RPC needs.
    public enum Access: Sendable, Hashable {
        /// Desired-state writes: operators only.
        case write
        /// Reads, watches and dry runs: operators and viewers.
        case read
        /// Agent RPCs: the node itself.
        case agent
    }

    /// The role and name of an authenticated caller.
    public struct Caller: Sendable, Hashable, CustomStringConvertible {
        public var role: SPIFFEIdentity.Role
        public var name: String
        public var description: String

        public init(role: SPIFFEIdentity.Role, name: String, description: String) {
            self.role = role
            self.name = name
            self.description = description
        }
    }

    /// The caller of a call, or PERMISSION_DENIED when the connection carries
    /// no identity (plaintext or a server without client authentication).
    public static func caller(_ context: ServerContext) throws(RPCError) -> Caller {
        guard let id = context.peer.identity else {
            throw RPCError(code: .permissionDenied, message: "\(context.path) needs a client certificate with a SPIFFE identity; \(context.peer) has none")
        }
        return Caller(role: id.role, name: id.name, description: id.uri)
    }

    /// Checks that the caller may make this call; logs and throws
    /// PERMISSION_DENIED otherwise.
    @discardableResult
    public static func check(_ access: Access, _ context: ServerContext, logger: Logger) throws(RPCError) -> Caller {
        let caller: Caller
        do {
            caller = try Self.caller(context)
        } catch {
            logger.warning("permission denied", metadata: ["rpc.method": "\(context.path)", "peer": "\(context.peer)", "reason": "no identity"])
            throw error
        }
        let allowed: Bool
        switch (access, caller.role) {
        case (.write, .operator), (.read, .operator), (.read, .viewer), (.agent, .node): allowed = true
        default: allowed = false
        }
        if !allowed {
            logger.warning("permission denied", metadata: ["rpc.method": "\(context.path)", "identity": "\(caller)"])
            throw RPCError(code: .permissionDenied, message: "\(caller) may not call \(context.path)")
        }
        return caller
    }

    /// Checks that a node caller acts for its own node only.
    public static func checkNode(_ caller: Caller, asks node: String, _ context: ServerContext, logger: Logger) throws(RPCError) {
        if caller.role != .node || caller.name != node {
            logger.warning("permission denied", metadata: ["rpc.method": "\(context.path)", "identity": "\(caller)", "sriov.node": "\(node.prefix(80))"])
            throw RPCError(code: .permissionDenied, message: "\(caller) may not call \(context.path) for node \"\(node.prefix(80))\"")
        }
    }
}
