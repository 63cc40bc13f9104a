import SriovProto

/// The renderer's inputs and outputs, updated incrementally.
///
/// A controller holds one value, feeds it every change (``apply(_:)``) and
/// gets back exactly which nodes' and networks' outputs changed. A policy
/// change re-renders only the nodes the old or the new version of the policy
/// selects by nodeSelector; a node change re-renders that node only; a network
/// change re-renders that network only. Rendering is pure and deterministic:
/// the same inputs give the same outputs in any order of changes (a property
/// the tests check against full renders).
public struct RenderState: Sendable {
    /// Settings.
    public let options: RenderOptions
    /// Policies by name.
    public private(set) var policies: [String: SriovV1.SriovNetworkNodePolicy] = [:]
    /// Networks by `namespace/name`.
    public private(set) var networks: [String: SriovV1.SriovNetwork] = [:]
    /// Nodes by name.
    public private(set) var nodes: [String: RenderNode] = [:]
    /// Rendered output per node.
    public private(set) var outputs: [String: NodeRenderOutput] = [:]
    /// Rendered NAD (or the reason it could not be rendered) per network key.
    public private(set) var attachments: [String: Result<NetworkAttachmentDefinition, NetworkRenderError>] = [:]
    /// Policies in application order.
    public private(set) var sortedPolicies: [SriovV1.SriovNetworkNodePolicy] = []

    /// An empty state.
    public init(options: RenderOptions = .defaults) {
        self.options = options
    }

    /// A state holding these inputs, fully rendered. Later duplicates (same
    /// policy name, network key or node name) replace earlier ones.
    public init(
        policies: [SriovV1.SriovNetworkNodePolicy], networks: [SriovV1.SriovNetwork],
        nodes: [RenderNode], options: RenderOptions = .defaults
    ) {
        self.options = options
        for policy in policies { self.policies[policy.name] = policy }
        for network in networks { self.networks[Self.key(network)] = network }
        for node in nodes { self.nodes[node.name] = node }
        sortedPolicies = NodeSpecRenderer.sortedForApplication(self.policies.values)
        for (name, node) in self.nodes {
            outputs[name] = NodeRenderOutput.render(node: node, sortedPolicies: sortedPolicies, options: options)
        }
        for (key, network) in self.networks {
            attachments[key] = renderNetwork(network)
        }
    }

    /// The key of a network: `namespace/name`.
    public static func key(_ network: SriovV1.SriovNetwork) -> String {
        network.metadata.namespace + "/" + network.metadata.name
    }

    /// Every conflict on every node, sorted.
    public var conflicts: [RenderConflict] {
        outputs.values.flatMap(\.conflicts).sorted()
    }

    /// Applies a change and returns which outputs changed.
    @discardableResult
    public mutating func apply(_ change: RenderChange) -> RenderDelta {
        var delta = RenderDelta()
        switch change {
        case .upsertPolicy(let policy):
            let old = policies[policy.name]
            if old == policy { return delta }
            policies[policy.name] = policy
            resortPolicies()
            reRender(nodesSelectedBy: [old, policy].compactMap { $0 }, into: &delta)
        case .removePolicy(let name):
            guard let old = policies.removeValue(forKey: name) else { return delta }
            resortPolicies()
            reRender(nodesSelectedBy: [old], into: &delta)
        case .upsertNetwork(let network):
            let key = Self.key(network)
            if networks[key] == network { return delta }
            networks[key] = network
            let rendered = renderNetwork(network)
            if attachments[key] != rendered {
                attachments[key] = rendered
                delta.changedNetworks = [key]
            }
        case .removeNetwork(let namespace, let name):
            let key = namespace + "/" + name
            if networks.removeValue(forKey: key) != nil {
                attachments[key] = nil
                delta.changedNetworks = [key]
            }
        case .upsertNode(let node):
            if nodes[node.name] == node { return delta }
            nodes[node.name] = node
            reRender(node: node.name, into: &delta)
        case .setNodeLabels(let name, let labels):
            var node = nodes[name] ?? RenderNode(name: name)
            if nodes[name] != nil && node.labels == labels { return delta }
            node.labels = labels
            nodes[name] = node
            reRender(node: name, into: &delta)
        case .setNodeInterfaces(let name, let interfaces):
            var node = nodes[name] ?? RenderNode(name: name)
            if nodes[name] != nil && node.interfaces == interfaces { return delta }
            node.interfaces = interfaces
            nodes[name] = node
            reRender(node: name, into: &delta)
        case .removeNode(let name):
            if nodes.removeValue(forKey: name) != nil {
                outputs[name] = nil
                delta.changedNodes = [name]
            }
        }
        return delta
    }

    private mutating func resortPolicies() {
        sortedPolicies = NodeSpecRenderer.sortedForApplication(policies.values)
    }

    private func renderNetwork(_ network: SriovV1.SriovNetwork) -> Result<NetworkAttachmentDefinition, NetworkRenderError> {
        Result { () throws(NetworkRenderError) in
            try NetworkAttachmentDefinition.render(network, resourcePrefix: options.resourcePrefix)
        }
    }

    private mutating func reRender(node name: String, into delta: inout RenderDelta) {
        guard let node = nodes[name] else { return }
        delta.reRenderedNodes += 1
        let output = NodeRenderOutput.render(node: node, sortedPolicies: sortedPolicies, options: options)
        if outputs[name] != output {
            outputs[name] = output
            delta.changedNodes.append(name)
        }
    }

    private mutating func reRender(
        nodesSelectedBy changed: [SriovV1.SriovNetworkNodePolicy], into delta: inout RenderDelta
    ) {
        let affected = nodes.values.filter { node in changed.contains { $0.selectsNode(labels: node.labels) } }
        for node in affected { reRender(node: node.name, into: &delta) }
        delta.changedNodes.sort()
    }
}
