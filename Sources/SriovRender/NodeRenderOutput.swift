import SriovProto

/// Everything rendered for one node.
public struct NodeRenderOutput: Sendable, Hashable {
    /// The node's desired interface spec; nil while the node has reported no
    /// interfaces (the operator then leaves its spec untouched).
    public var spec: SriovV1.SriovNetworkNodeStateSpec?
    /// The device plugin configuration for the node.
    public var devicePluginConfig: DevicePluginConfig
    /// Conflicts among the policies selecting the node, sorted.
    public var conflicts: [RenderConflict]

    public init(
        spec: SriovV1.SriovNetworkNodeStateSpec?, devicePluginConfig: DevicePluginConfig,
        conflicts: [RenderConflict] = []
    ) {
        self.spec = spec
        self.devicePluginConfig = devicePluginConfig
        self.conflicts = conflicts
    }

    /// Renders one node against policies already in application order.
    public static func render(
        node: RenderNode, sortedPolicies: [SriovV1.SriovNetworkNodePolicy], options: RenderOptions
    ) -> NodeRenderOutput {
        render(
            node: node.name, selectedPolicies: NodeSpecRenderer.selected(sortedPolicies, labels: node.labels),
            interfaces: node.interfaces, options: options)
    }

    /// Renders one node from the policies that select it, in application order.
    static func render(
        node: String, selectedPolicies selected: [SriovV1.SriovNetworkNodePolicy],
        interfaces: [SriovV1.InterfaceExt], options: RenderOptions
    ) -> NodeRenderOutput {
        PolicySet(selected: selected, nics: options.supportedNICs).render(node: node, interfaces: interfaces)
    }

    /// The same output for another node: conflicts renamed.
    func forNode(_ name: String) -> NodeRenderOutput {
        if conflicts.isEmpty { return self }
        var copy = self
        copy.conflicts = conflicts.map {
            var c = $0
            c.node = name
            return c
        }
        return copy
    }
}
