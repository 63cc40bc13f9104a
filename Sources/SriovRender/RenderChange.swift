import SriovProto

/// One change to the renderer's inputs.
public enum RenderChange: Sendable, Hashable {
    /// A policy was created or changed (keyed by `metadata.name`).
    case upsertPolicy(SriovV1.SriovNetworkNodePolicy)
    /// A policy was deleted.
    case removePolicy(name: String)
    /// A network was created or changed (keyed by namespace and name).
    case upsertNetwork(SriovV1.SriovNetwork)
    /// A network was deleted.
    case removeNetwork(namespace: String, name: String)
    /// A node appeared or changed (labels and interfaces replaced).
    case upsertNode(RenderNode)
    /// A node's labels changed; creates the node when unknown.
    case setNodeLabels(node: String, labels: [String: String])
    /// A node's reported PFs changed; creates the node when unknown.
    case setNodeInterfaces(node: String, interfaces: [SriovV1.InterfaceExt])
    /// A node was deleted.
    case removeNode(name: String)
}

/// Which outputs a change altered.
public struct RenderDelta: Sendable, Hashable {
    /// Nodes whose output changed or that were removed, sorted by name.
    public var changedNodes: [String] = []
    /// Networks (`namespace/name`) whose NAD changed or that were removed, sorted.
    public var changedNetworks: [String] = []
    /// How many nodes the change could affect and were re-rendered.
    public var reRenderedNodes = 0

    public init() {}

    /// Whether nothing changed.
    public var isEmpty: Bool { changedNodes.isEmpty && changedNetworks.isEmpty }
}
