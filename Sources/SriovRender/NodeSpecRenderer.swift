import SriovProto

/// The policy → node-state algorithm of the upstream operator
/// (`SriovNetworkNodePolicy.Apply`, `mergeConfigs`, `generatePfNameVfGroup`,
/// and the reconcile loop around them), reproduced exactly, quirks included.
public enum NodeSpecRenderer {
    /// A policy that could not be applied to a PF: a `pfNames` entry whose
    /// `#first-last` range does not parse. Upstream aborts the whole reconcile;
    /// the renderer reports it as a ``RenderConflict`` and skips the policy on
    /// that node.
    public struct ApplyError: Error, Sendable, Hashable {
        /// The policy.
        public var policy: String
        /// The malformed pfNames entry.
        public var pfNamesEntry: String
        /// The PF being configured.
        public var pciAddress: String
    }

    /// The name of the policy upstream ignores as deprecated.
    public static let deprecatedDefaultPolicyName = "default"

    /// Renders a node's spec: starting from an empty spec, applies every policy
    /// that selects the node in application order (``sortedForApplication(_:)``).
    ///
    /// `equalPriority` for each policy is "its priority equals that of the
    /// previous policy applied **to this node**", whatever PF that policy
    /// touched: the operator keeps one `ppp` per node, not per PF, and so do
    /// we. Returns nil when the node has reported no interfaces (the operator
    /// leaves such a node's spec alone). A policy named `default` is skipped.
    /// `sortedPolicies` must already be in application order.
    public static func render(
        sortedPolicies: [SriovV1.SriovNetworkNodePolicy],
        labels: [String: String],
        interfaces: [SriovV1.InterfaceExt],
        errors: inout [ApplyError]
    ) -> SriovV1.SriovNetworkNodeStateSpec? {
        render(selectedPolicies: selected(sortedPolicies, labels: labels), interfaces: interfaces, errors: &errors)
    }

    /// The policies that select a node, in the given order, without `default`.
    static func selected(
        _ sortedPolicies: [SriovV1.SriovNetworkNodePolicy], labels: [String: String]
    ) -> [SriovV1.SriovNetworkNodePolicy] {
        // By index: iterating an array of policies copies each one.
        var selected: [SriovV1.SriovNetworkNodePolicy] = []
        for i in sortedPolicies.indices where sortedPolicies[i].metadata.name != deprecatedDefaultPolicyName {
            let nodeSelector = sortedPolicies[i].spec.nodeSelector
            if nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) { selected.append(sortedPolicies[i]) }
        }
        return selected
    }

    /// ``render(sortedPolicies:labels:interfaces:errors:)`` for policies
    /// already known to select the node.
    static func render(
        selectedPolicies: [SriovV1.SriovNetworkNodePolicy],
        interfaces: [SriovV1.InterfaceExt],
        errors: inout [ApplyError]
    ) -> SriovV1.SriovNetworkNodeStateSpec? {
        guard !interfaces.isEmpty else { return nil }
        var spec = SriovV1.SriovNetworkNodeStateSpec()
        var previousPriority: Int32 = 100
        for policy in selectedPolicies {
            let priority = policy.effectivePriority
            do {
                try apply(policy, to: &spec, interfaces: interfaces, equalPriority: previousPriority == priority)
            } catch {
                errors.append(error)
            }
            previousPriority = priority
        }
        return spec
    }

    /// Policies in application order: priority descending (99 first, 0 last),
    /// ties by name ascending. The last applied wins.
    public static func sortedForApplication(
        _ policies: some Sequence<SriovV1.SriovNetworkNodePolicy>
    ) -> [SriovV1.SriovNetworkNodePolicy] {
        policies.sorted { $0.appliesBefore($1) }
    }

    /// Applies one policy to a node's spec (upstream `Apply`).
    ///
    /// For every PF in `interfaces` the nicSelector selects (an empty selector
    /// selects none): nothing when numVfs is 0; otherwise the PF entry
    /// `{pciAddress, name, mtu, numVfs, linkType, eSwitchMode,
    /// externallyManaged}` with one VF group is appended, or merged onto the
    /// existing entry for that PCI address (``merge(existing:into:equalPriority:)``)
    /// and replaces it in place. On a malformed `pfNames` range the PFs before
    /// it keep their changes, as upstream.
    public static func apply(
        _ policy: SriovV1.SriovNetworkNodePolicy,
        to spec: inout SriovV1.SriovNetworkNodeStateSpec,
        interfaces: [SriovV1.InterfaceExt],
        equalPriority: Bool
    ) throws(ApplyError) {
        let p = policy.spec
        let selector = p.nicSelector
        if selector.isEmpty { return }
        for pf in interfaces where selector.selects(pf) {
            guard p.numVfs > 0 else { continue }
            var result = SriovV1.Interface()
            result.pciAddress = pf.pciAddress
            result.mtu = p.mtu
            result.name = pf.name
            result.linkType = p.linkType
            result.eSwitchMode = p.eSwitchMode
            result.numVfs = p.numVfs
            result.externallyManaged = p.externallyManaged
            result.vfGroups = [try vfGroup(policy, for: pf)]
            if let index = spec.interfaces.firstIndex(where: { $0.pciAddress == result.pciAddress }) {
                merge(existing: spec.interfaces[index], into: &result, equalPriority: equalPriority)
                spec.interfaces[index] = result
            } else {
                spec.interfaces.append(result)
            }
        }
    }

    /// The VF group a policy puts on a PF (upstream `generatePfNameVfGroup`):
    /// vfRange from the first pfNames entry whose name equals the PF's
    /// **primary** name, else `0-(numVfs-1)` (so a range given through an
    /// altName falls back to the full range here).
    static func vfGroup(
        _ policy: SriovV1.SriovNetworkNodePolicy, for pf: SriovV1.InterfaceExt
    ) throws(ApplyError) -> SriovV1.VfGroup {
        let p = policy.spec
        var first = 0
        var last = Int(p.numVfs) - 1
        for entry in p.nicSelector.pfNames {
            guard let parsed = PFNameSelector(entry) else {
                throw ApplyError(policy: policy.name, pfNamesEntry: entry, pciAddress: pf.pciAddress)
            }
            if parsed.name == pf.name {
                if let f = parsed.first, let l = parsed.last {
                    first = f
                    last = l
                }
                break
            }
        }
        var group = SriovV1.VfGroup()
        group.resourceName = p.resourceName
        group.deviceType = p.deviceType
        group.vfRange = VFRange.format(first, last)
        group.policyName = policy.name
        group.mtu = p.mtu
        group.isRdma = p.isRdma
        group.vdpaType = p.vdpaType
        return group
    }

    /// Merges a PF entry already in the spec into the new one (upstream
    /// `mergeConfigs`). The new group comes first; each old group is kept after
    /// it only if its resourceName differs and its range does not overlap the
    /// new group's. When the priorities are equal or an old group was kept,
    /// numVfs and mtu become the max of old and new; linkType, eSwitchMode and
    /// externallyManaged always come from the new policy.
    public static func merge(
        existing: SriovV1.Interface, into result: inout SriovV1.Interface, equalPriority: Bool
    ) {
        guard let newGroup = result.vfGroups.first else { return }
        var kept = false
        for group in existing.vfGroups {
            if group.resourceName == newGroup.resourceName || VFRange.overlaps(group.vfRange, newGroup.vfRange) {
                continue
            }
            kept = true
            result.vfGroups.append(group)
        }
        if !equalPriority && !kept { return }
        result.mtu = max(result.mtu, existing.mtu)
        result.numVfs = max(result.numVfs, existing.numVfs)
    }
}
