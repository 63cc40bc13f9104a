import SriovProto

/// What the renderer knows about a node: its labels (from the `v1 Node`) and
/// its PFs as its agent reported them (`SriovNetworkNodeState.status.interfaces`).
public struct RenderNode: Sendable, Hashable {
    /// The node name (also the name of its SriovNetworkNodeState).
    public var name: String
    /// The node's labels, matched against policies' nodeSelector.
    public var labels: [String: String]
    /// The PFs the node's agent reported; empty while it has reported none, in
    /// which case the node gets no interface spec.
    public var interfaces: [SriovV1.InterfaceExt]

    public init(name: String, labels: [String: String] = [:], interfaces: [SriovV1.InterfaceExt] = []) {
        self.name = name
        self.labels = labels
        self.interfaces = interfaces
    }
}
