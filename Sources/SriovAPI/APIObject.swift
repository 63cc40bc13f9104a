import SriovProto

/// One decoded object of a kind this project reads from YAML or JSON.
public enum APIObject: Hashable, Sendable {
    case policy(SriovV1.SriovNetworkNodePolicy)
    case network(SriovV1.SriovNetwork)
    case nodeState(SriovV1.SriovNetworkNodeState)
    case node(KubeNode)

    /// The Kubernetes kind, e.g. `SriovNetworkNodePolicy`.
    public var kind: String {
        switch self {
        case .policy: CRCodec.Kind.policy
        case .network: CRCodec.Kind.network
        case .nodeState: CRCodec.Kind.nodeState
        case .node: CRCodec.Kind.node
        }
    }

    /// The object's `metadata.name`.
    public var name: String {
        switch self {
        case .policy(let p): p.metadata.name
        case .network(let n): n.metadata.name
        case .nodeState(let s): s.metadata.name
        case .node(let n): n.name
        }
    }
}
