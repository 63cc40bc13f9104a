import SriovProto

/// The renderer's inputs and outputs, updated incrementally.
///
/// A controller holds one value, feeds it every change (``apply(_:)``) and
/// gets back exactly which nodes' and networks' outputs changed. A policy
/// change re-renders only the nodes the old or the new version of the policy
/// selects by nodeSelector; a node change re-renders that node only; a network
/// change re-renders that network only. Rendering is pure and deterministic:
/// the same inputs give the same outputs in any order of changes (a property
/// the tests check against uncached full renders).
///
/// Nodes with the same inventory and the same selected policies get the same
/// output, so the state memoizes outputs by that *shape* (inventory interned
/// to a number, policies identified by a number that changes with every
/// version). A homogeneous fleet is rendered once per distinct shape.
///
/// Nodes whose hardware differs still share what depends on their policies
/// alone: each policy version is compiled once (``CompiledPolicy``), and each
/// distinct list of selected policies becomes one ``PolicySet`` holding the
/// device-plugin config and the policy-only conflicts, so a node of its own
/// shape costs only the work its PFs bring.
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
    /// Policies in application order, without the deprecated policy `default`
    /// (which the operator ignores).
    public private(set) var sortedPolicies: [SriovV1.SriovNetworkNodePolicy] = []

    // Memoization.
    private var policyVersion: [String: UInt32] = [:]
    private var nextVersion: UInt32 = 0
    /// For each sorted policy: its version and the index of its nodeSelector
    /// among the distinct selectors.
    private var sortedVersions: [UInt32] = []
    private var sortedSelectorIndex: [Int] = []
    /// The distinct nodeSelectors, each as (index into `selectorKeys`, value)
    /// pairs, so that matching a node looks each label key up once.
    private var distinctSelectors: [[(key: Int, value: String)]] = []
    private var selectorKeys: [String] = []
    /// Index of each distinct nodeSelector in `distinctSelectors`, how many
    /// sorted policies use each, and the label keys' indexes: kept across
    /// changes so that one policy change costs a binary search and an
    /// insertion instead of a full re-sort.
    private var selectorIndex: [[String: String]: Int] = [:]
    private var selectorRefs: [Int] = []
    private var selectorKeyIndex: [String: Int] = [:]
    private var inventoryIDs: [InventoryKey: UInt32] = [:]
    private var inventoryKeys: [UInt32: [RenderPF]] = [:]
    private var inventoryRefs: [UInt32: Int] = [:]
    private var nodeInventory: [String: UInt32] = [:]
    private var nextInventory: UInt32 = 0
    private var shapeCache: [Shape: NodeRenderOutput] = [:]
    /// Each policy compiled once per version, and the sorted policies compiled.
    private var compiled: [UInt32: CompiledPolicy] = [:]
    private var sortedCompiled: [CompiledPolicy] = []
    /// Policy sets by the versions of their policies: the nodes selected by
    /// the same policies share the policy-only part of their render, whatever
    /// their hardware.
    private var policySets: [[UInt32]: PolicySet] = [:]
    /// Node names by label key and value, to find the nodes a policy selects.
    private var labelIndex: [String: [String: Set<String>]] = [:]

    /// A node's render-relevant PFs with their hash computed once: a lookup
    /// and an insert would otherwise hash every field of every PF twice.
    private struct InventoryKey: Hashable {
        let pfs: [RenderPF]
        let hash: Int

        init(_ pfs: [RenderPF]) {
            self.pfs = pfs
            hash = pfs.hashValue
        }

        static func == (a: Self, b: Self) -> Bool { a.hash == b.hash && a.pfs == b.pfs }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    private struct Shape: Hashable {
        var policies: [UInt32]
        var inventory: UInt32
    }

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
        for policy in policies {
            self.policies[policy.name] = policy
            policyVersion[policy.name] = nextVersion
            nextVersion += 1
        }
        for network in networks { self.networks[Self.key(network)] = network }
        resortPolicies()
        for node in nodes { setNode(node) }
        for name in self.nodes.keys.sorted() { outputs[name] = render(node: name) }
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
            if let old { unsort(old) }
            replaceVersion(of: policy.name, removed: false)
            insertSorted(policy)
            reRender(nodesSelectedBy: [old, policy].compactMap { $0 }, into: &delta)
        case .removePolicy(let name):
            guard let old = policies.removeValue(forKey: name) else { return delta }
            unsort(old)
            replaceVersion(of: name, removed: true)
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
            setNode(node)
            reRender(node: node.name, into: &delta)
        case .setNodeLabels(let name, let labels):
            var node = nodes[name] ?? RenderNode(name: name)
            if nodes[name] != nil && node.labels == labels { return delta }
            node.labels = labels
            setNode(node)
            reRender(node: name, into: &delta)
        case .setNodeInterfaces(let name, let interfaces):
            var node = nodes[name] ?? RenderNode(name: name)
            if nodes[name] != nil && node.interfaces == interfaces { return delta }
            node.interfaces = interfaces
            setNode(node)
            reRender(node: name, into: &delta)
        case .removeNode(let name):
            if let removed = nodes.removeValue(forKey: name) {
                unindexLabels(of: removed)
                releaseInventory(of: name)
                outputs[name] = nil
                delta.changedNodes = [name]
            }
        }
        return delta
    }

    // MARK: - Inputs

    private mutating func setNode(_ node: RenderNode) {
        let previous = nodes[node.name]
        nodes[node.name] = node
        if previous?.labels != node.labels {
            if let previous { unindexLabels(of: previous) }
            for (key, value) in node.labels { labelIndex[key, default: [:]][value, default: []].insert(node.name) }
        }
        if let previous, previous.interfaces == node.interfaces, nodeInventory[node.name] != nil { return }
        releaseInventory(of: node.name)
        let key = InventoryKey(Self.renderRelevant(node.interfaces))
        let id: UInt32
        if let existing = inventoryIDs[key] {
            id = existing
        } else {
            id = nextInventory
            nextInventory += 1
            inventoryIDs[key] = id
            inventoryKeys[id] = key.pfs
        }
        inventoryRefs[id, default: 0] += 1
        nodeInventory[node.name] = id
    }

    private mutating func unindexLabels(of node: RenderNode) {
        for (key, value) in node.labels {
            labelIndex[key]?[value]?.remove(node.name)
            if labelIndex[key]?[value]?.isEmpty == true { labelIndex[key]?[value] = nil }
            if labelIndex[key]?.isEmpty == true { labelIndex[key] = nil }
        }
    }

    /// The names of the nodes a policy's nodeSelector selects.
    private func nodesSelected(by policy: SriovV1.SriovNetworkNodePolicy) -> [String] {
        let selector = policy.spec.nodeSelector
        if selector.isEmpty { return Array(nodes.keys) }
        var smallest: Set<String> = []
        var first = true
        for (key, value) in selector {
            guard let names = labelIndex[key]?[value] else { return [] }
            if first || names.count < smallest.count { smallest = names }
            first = false
        }
        // The index holds exactly the nodes with that label: one pair needs no check.
        if selector.count == 1 { return Array(smallest) }
        return smallest.filter { name in nodes[name].map { policy.selectsNode(labels: $0.labels) } ?? false }
    }

    /// The PF fields rendering reads (selection: name, altNames, pciAddress,
    /// vendor, deviceID, netFilter; conflicts: totalvfs). MACs, MTUs, link
    /// state, current numVfs and the VF list do not change any output, so
    /// nodes differing only in those share a shape.
    static func renderRelevant(_ interfaces: [SriovV1.InterfaceExt]) -> [RenderPF] {
        interfaces.map(RenderPF.init)
    }

    private mutating func releaseInventory(of name: String) {
        guard let id = nodeInventory.removeValue(forKey: name) else { return }
        let refs = (inventoryRefs[id] ?? 1) - 1
        if refs > 0 {
            inventoryRefs[id] = refs
            return
        }
        inventoryRefs[id] = nil
        if let pfs = inventoryKeys.removeValue(forKey: id) { inventoryIDs[InventoryKey(pfs)] = nil }
        shapeCache = shapeCache.filter { $0.key.inventory != id }
    }

    private mutating func replaceVersion(of name: String, removed: Bool) {
        if let old = policyVersion[name] {
            shapeCache = shapeCache.filter { !$0.key.policies.contains(old) }
            policySets = policySets.filter { !$0.key.contains(old) }
            compiled[old] = nil
        }
        if removed {
            policyVersion[name] = nil
        } else {
            policyVersion[name] = nextVersion
            nextVersion += 1
        }
    }

    /// Sorts every policy again and rebuilds the selector tables (initial
    /// load, and compaction once many selectors fell out of use).
    private mutating func resortPolicies() {
        sortedPolicies = NodeSpecRenderer.sortedForApplication(policies.values)
            .filter { $0.name != NodeSpecRenderer.deprecatedDefaultPolicyName }
        sortedVersions = sortedPolicies.map { policyVersion[$0.name] ?? 0 }
        sortedCompiled = zip(sortedPolicies, sortedVersions).map { policy, version in
            compiledPolicy(policy, version: version)
        }
        selectorIndex = [:]
        selectorRefs = []
        selectorKeyIndex = [:]
        distinctSelectors = []
        selectorKeys = []
        sortedSelectorIndex = sortedPolicies.map { retainSelector($0.spec.nodeSelector) }
    }

    private mutating func compiledPolicy(_ policy: SriovV1.SriovNetworkNodePolicy, version: UInt32) -> CompiledPolicy {
        if let existing = compiled[version] { return existing }
        let new = CompiledPolicy(policy)
        compiled[version] = new
        return new
    }

    /// The index of a nodeSelector among the distinct ones, counting a use.
    private mutating func retainSelector(_ selector: [String: String]) -> Int {
        if let i = selectorIndex[selector] {
            selectorRefs[i] += 1
            return i
        }
        let i = distinctSelectors.count
        selectorIndex[selector] = i
        selectorRefs.append(1)
        distinctSelectors.append(selector.sorted { $0.key < $1.key }.map { key, value in
            if let k = selectorKeyIndex[key] { return (k, value) }
            selectorKeyIndex[key] = selectorKeys.count
            selectorKeys.append(key)
            return (selectorKeys.count - 1, value)
        })
        return i
    }

    /// Where `policy` is or would be in application order.
    private func sortedPosition(of policy: SriovV1.SriovNetworkNodePolicy) -> Int {
        var lo = 0, hi = sortedPolicies.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedPolicies[mid].appliesBefore(policy) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Takes a policy's previous version out of the sorted tables.
    private mutating func unsort(_ policy: SriovV1.SriovNetworkNodePolicy) {
        let i = sortedPosition(of: policy)
        guard i < sortedPolicies.count, sortedPolicies[i].name == policy.name else { return }
        sortedPolicies.remove(at: i)
        sortedVersions.remove(at: i)
        sortedCompiled.remove(at: i)
        let selector = sortedSelectorIndex.remove(at: i)
        selectorRefs[selector] -= 1
    }

    /// Puts a policy's new version into the sorted tables; rebuilds them
    /// when most distinct selectors are no longer used.
    private mutating func insertSorted(_ policy: SriovV1.SriovNetworkNodePolicy) {
        guard policy.name != NodeSpecRenderer.deprecatedDefaultPolicyName else { return }
        let i = sortedPosition(of: policy)
        let version = policyVersion[policy.name] ?? 0
        sortedPolicies.insert(policy, at: i)
        sortedVersions.insert(version, at: i)
        sortedCompiled.insert(compiledPolicy(policy, version: version), at: i)
        sortedSelectorIndex.insert(retainSelector(policy.spec.nodeSelector), at: i)
        let live = selectorRefs.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        if distinctSelectors.count > 2 * live + 16 { resortPolicies() }
    }

    private func renderNetwork(_ network: SriovV1.SriovNetwork) -> Result<NetworkAttachmentDefinition, NetworkRenderError> {
        Result { () throws(NetworkRenderError) in
            try NetworkAttachmentDefinition.render(network, resourcePrefix: options.resourcePrefix)
        }
    }

    // MARK: - Rendering

    /// Renders one node through the shape cache.
    private mutating func render(node name: String) -> NodeRenderOutput? {
        guard let node = nodes[name], let inventory = nodeInventory[name], let pfs = inventoryKeys[inventory] else {
            return nil
        }
        let labels = selectorKeys.map { node.labels[$0] }
        var matches = [Bool](repeating: false, count: distinctSelectors.count)
        for (i, selector) in distinctSelectors.enumerated() {
            matches[i] = selector.allSatisfy { labels[$0.key] == $0.value }
        }
        var versions: [UInt32] = []
        var selected: [Int] = []
        for i in sortedPolicies.indices where matches[sortedSelectorIndex[i]] {
            versions.append(sortedVersions[i])
            selected.append(i)
        }
        let shape = Shape(policies: versions, inventory: inventory)
        if let cached = shapeCache[shape] { return cached.forNode(name) }
        // Shapes no node uses any more (after label changes) are dropped in bulk
        // once the cache outgrows the cluster.
        if shapeCache.count > 2 * nodes.count + 64 { shapeCache.removeAll(keepingCapacity: true) }
        let set: PolicySet
        if let existing = policySets[versions] {
            set = existing
        } else {
            if policySets.count > 2 * nodes.count + 64 { policySets.removeAll(keepingCapacity: true) }
            set = PolicySet(selected.map { sortedCompiled[$0] }, nics: options.supportedNICs)
            policySets[versions] = set
        }
        let output = set.render(node: "", pfs: pfs, interfaces: node.interfaces)
        shapeCache[shape] = output
        return output.forNode(name)
    }

    private mutating func reRender(node name: String, into delta: inout RenderDelta) {
        guard nodes[name] != nil else { return }
        delta.reRenderedNodes += 1
        let output = render(node: name)
        if let index = outputs.index(forKey: name), let output {
            if outputs.values[index] != output {
                outputs.values[index] = output
                delta.changedNodes.append(name)
            }
        } else if outputs[name] != output {
            outputs[name] = output
            delta.changedNodes.append(name)
        }
    }

    private mutating func reRender(
        nodesSelectedBy changed: [SriovV1.SriovNetworkNodePolicy], into delta: inout RenderDelta
    ) {
        if changed.count == 2 && changed[0].spec.nodeSelector == changed[1].spec.nodeSelector {
            // The same nodes before and after.
            for name in nodesSelected(by: changed[1]) { reRender(node: name, into: &delta) }
        } else {
            var affected = Set<String>()
            for policy in changed { affected.formUnion(nodesSelected(by: policy)) }
            for name in affected { reRender(node: name, into: &delta) }
        }
        delta.changedNodes.sort()
    }
}
