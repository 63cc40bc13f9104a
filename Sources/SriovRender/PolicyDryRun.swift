import SriovProto

/// What a candidate change would do: per node and PF the spec entry before and
/// after, plus the conflicts it would bring.
public struct PolicyDryRun: Sendable, Hashable {
    /// The difference on one PF of one node.
    public struct PFDifference: Sendable, Hashable {
        /// The PF's PCI address.
        public var pciAddress: String
        /// The PF's interface name (from either side).
        public var name: String
        /// The PF's spec entry before; nil when it had none.
        public var before: SriovV1.Interface?
        /// The PF's spec entry after; nil when it would have none.
        public var after: SriovV1.Interface?
    }

    /// The differences on one node.
    public struct NodeDifference: Sendable, Hashable {
        /// The node.
        public var node: String
        /// The PFs whose spec entry would change, in PCI address order.
        public var pfs: [PFDifference]
        /// Whether the node's device plugin configuration would change.
        public var devicePluginConfigChanged: Bool
        /// The device plugin configuration after the change.
        public var devicePluginConfigAfter: DevicePluginConfig
    }

    /// Nodes the change would alter, by name.
    public var nodes: [NodeDifference]
    /// Conflicts after the change that involve the candidate policy (for a
    /// policy change) or that the change introduces (otherwise), sorted.
    public var conflicts: [RenderConflict]
}

extension RenderState {
    /// The effect of a candidate policy, without changing this state.
    public func dryRun(policy: SriovV1.SriovNetworkNodePolicy) -> PolicyDryRun {
        dryRun(.upsertPolicy(policy))
    }

    /// The effect of any change, without changing this state.
    public func dryRun(_ change: RenderChange) -> PolicyDryRun {
        var after = self
        let delta = after.apply(change)
        var nodes: [PolicyDryRun.NodeDifference] = []
        for name in delta.changedNodes {
            let old = outputs[name]
            let new = after.outputs[name]
            let beforeIfaces = old?.spec?.interfaces ?? []
            let afterIfaces = new?.spec?.interfaces ?? []
            var addresses = Set(beforeIfaces.map(\.pciAddress))
            addresses.formUnion(afterIfaces.map(\.pciAddress))
            var pfs: [PolicyDryRun.PFDifference] = []
            for address in addresses.sorted() {
                let b = beforeIfaces.first { $0.pciAddress == address }
                let a = afterIfaces.first { $0.pciAddress == address }
                if a != b {
                    pfs.append(.init(pciAddress: address, name: a?.name ?? b?.name ?? "", before: b, after: a))
                }
            }
            let configChanged = old?.devicePluginConfig != new?.devicePluginConfig
            if pfs.isEmpty && !configChanged { continue }
            nodes.append(.init(
                node: name, pfs: pfs, devicePluginConfigChanged: configChanged,
                devicePluginConfigAfter: new?.devicePluginConfig ?? DevicePluginConfig()))
        }
        let conflicts: [RenderConflict]
        switch change {
        case .upsertPolicy(let policy):
            conflicts = delta.changedNodes.flatMap { after.outputs[$0]?.conflicts ?? [] }
                .filter { $0.involves(policy: policy.name) }.sorted()
        default:
            conflicts = delta.changedNodes.flatMap { name in
                let previous = Set(outputs[name]?.conflicts ?? [])
                return (after.outputs[name]?.conflicts ?? []).filter { !previous.contains($0) }
            }.sorted()
        }
        return PolicyDryRun(nodes: nodes, conflicts: conflicts)
    }
}
