import SriovProto

/// One-shot rendering of a whole cluster.
public enum Renderer {
    /// The outputs of a full render.
    public struct Result: Sendable {
        /// Per node, by name.
        public var nodes: [String: NodeRenderOutput]
        /// Per network, keyed `namespace/name`, the NAD or why it failed.
        public var attachments: [String: Swift.Result<NetworkAttachmentDefinition, NetworkRenderError>]
        /// All conflicts, sorted.
        public var conflicts: [RenderConflict]
    }

    /// Renders every node and network from scratch.
    public static func render(
        policies: [SriovV1.SriovNetworkNodePolicy], networks: [SriovV1.SriovNetwork],
        nodes: [RenderNode], options: RenderOptions = .defaults
    ) -> Result {
        let state = RenderState(policies: policies, networks: networks, nodes: nodes, options: options)
        return Result(nodes: state.outputs, attachments: state.attachments, conflicts: state.conflicts)
    }
}
