import SriovAPI
import SriovProto

/// The offline render behind `sriovctl render`: decoded objects in, one
/// `v1 List` out. Pure: the caller reads the files and prints the result.
///
/// Policies and networks are validated (``Validation``) and defaulted
/// (``Defaults``) first. Nodes come from `v1 Node` objects (their labels);
/// each node's inventory comes from the SriovNetworkNodeState of the same
/// name (`status.interfaces`). A node state without a Node is reported as a
/// warning and not rendered, as the operator only renders existing nodes.
public enum OfflineRender {
    /// Settings.
    public struct Options: Sendable {
        /// Renderer settings (NIC table, resource prefix).
        public var render: RenderOptions
        /// Namespace of the rendered node states (when the input has none) and
        /// of the device-plugin ConfigMap.
        public var operatorNamespace: String
        /// Bounds: the number of policies and networks
        /// (``DecodeLimits/maxStoredPolicies``, ``DecodeLimits/maxStoredNetworks``)
        /// and of problems returned (``DecodeLimits/maxErrors``).
        public var limits: DecodeLimits

        public init(
            render: RenderOptions = .defaults, operatorNamespace: String = "sriov-network-operator",
            limits: DecodeLimits = .defaults
        ) {
            self.render = render
            self.operatorNamespace = operatorNamespace
            self.limits = limits
        }
    }

    /// A successful render: the `v1 List` of the node states with their
    /// rendered spec (by node name), the `device-plugin-config` ConfigMap,
    /// then the NADs (by namespace and name).
    ///
    /// The items are made when asked for: a fleet's render holds millions of
    /// VF groups, and made all at once as values they take more memory than
    /// their text. ``writeYAML(chunkSize:_:)`` and
    /// ``writeJSON(indent:chunkSize:_:)`` make, write and drop them one at a
    /// time.
    public struct Output: Sendable {
        /// How many objects the List holds.
        public let itemCount: Int
        let makeItem: @Sendable (Int) -> CRValue
        /// Things worth telling the user that do not fail the render.
        public var warnings: [String]

        /// The object at `index` (0 ..< ``itemCount``).
        public func item(_ index: Int) -> CRValue { makeItem(index) }

        /// The whole List as one value.
        public var list: CRValue { CRCodec.list((0..<itemCount).map(makeItem)) }

        /// Exactly `list.yamlString()`, handed to `emit` in chunks of about
        /// `chunkSize` bytes, one item in memory at a time.
        public func writeYAML(chunkSize: Int = 1 << 16, _ emit: (String) -> Void) {
            CRValue.writeYAMLList(count: itemCount, item: makeItem, chunkSize: chunkSize, emit)
        }

        /// Exactly `list.jsonString(indent: indent)`, written the same way.
        public func writeJSON(indent: Int?, chunkSize: Int = 1 << 16, _ emit: (String) -> Void) {
            CRValue.writeJSONList(count: itemCount, item: makeItem, indent: indent, chunkSize: chunkSize, emit)
        }
    }

    /// Why a render failed: every problem found, one human line each.
    /// At most ``DecodeLimits/maxErrors`` problems are kept; ``omitted``
    /// counts the others.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var problems: [String]
        public var warnings: [String]
        /// Problems found but not kept.
        public var omitted = 0
        public var description: String {
            (problems + (omitted > 0 ? ["and \(omitted) more problems"] : [])).joined(separator: "\n")
        }
    }

    /// The name of the device plugin's ConfigMap.
    public static let configMapName = "device-plugin-config"

    /// Renders decoded objects.
    public static func render(_ objects: [APIObject], options: Options = Options()) -> Result<Output, Failure> {
        let limits = options.limits
        // Problems past the cap are counted, not described.
        var uncounted = 0
        func failure(_ problems: [String], _ warnings: [String]) -> Result<Output, Failure> {
            let kept = Array(problems.prefix(limits.maxErrors))
            return .failure(Failure(problems: kept, warnings: warnings, omitted: problems.count - kept.count + uncounted))
        }
        var policyCount = 0
        var networkCount = 0
        for object in objects {
            if case .policy = object { policyCount += 1 }
            if case .network = object { networkCount += 1 }
        }
        if policyCount > limits.maxStoredPolicies || networkCount > limits.maxStoredNetworks {
            return failure(
                ["the input holds \(policyCount) policies and \(networkCount) networks; the limits are \(limits.maxStoredPolicies) policies and \(limits.maxStoredNetworks) networks"],
                [])
        }
        var problems: [String] = []
        for error in Validation.validate(objects) {
            if problems.count < limits.maxErrors { problems.append(error.description) } else { uncounted += 1 }
        }
        var warnings: [String] = []
        var policies: [String: SriovV1.SriovNetworkNodePolicy] = [:]
        var networks: [String: SriovV1.SriovNetwork] = [:]
        var nodes: [String: KubeNode] = [:]
        var states: [String: SriovV1.SriovNetworkNodeState] = [:]
        for object in objects {
            let duplicate: Bool
            switch object {
            case .policy(let p):
                duplicate = policies.updateValue(Defaults.applied(to: p), forKey: p.metadata.name) != nil
            case .network(let n):
                duplicate = networks.updateValue(Defaults.applied(to: n), forKey: RenderState.key(n)) != nil
            case .node(let n):
                duplicate = nodes.updateValue(n, forKey: n.name) != nil
            case .nodeState(let s):
                duplicate = states.updateValue(s, forKey: s.metadata.name) != nil
            }
            if duplicate {
                problems.append("\(object.kind) \"\(object.name)\": defined more than once in the input; each object may appear once")
            }
        }
        for name in states.keys.sorted() where nodes[name] == nil {
            warnings.append("SriovNetworkNodeState \"\(name)\": no v1 Node of that name in the input; not rendered (the operator renders existing nodes only)")
        }
        if !problems.isEmpty { return failure(problems, warnings) }

        let renderNodes = nodes.values.map {
            RenderNode(name: $0.name, labels: $0.labels, interfaces: states[$0.name]?.status.interfaces ?? [])
        }
        let state = RenderState(
            policies: Array(policies.values), networks: Array(networks.values), nodes: renderNodes,
            options: options.render)
        let conflicts = state.conflicts
        problems += conflicts.prefix(limits.maxErrors).map(\.description)
        uncounted += max(0, conflicts.count - limits.maxErrors)
        for key in state.attachments.keys.sorted() {
            if case .failure(let error) = state.attachments[key] { problems.append(error.description) }
        }
        if !problems.isEmpty { return failure(problems, warnings) }

        let rendered = nodes.keys.sorted().filter { state.outputs[$0] != nil }
        let nadKeys = state.attachments.keys.sorted().filter {
            if case .success = state.attachments[$0] { return true }
            return false
        }
        let operatorNamespace = options.operatorNamespace
        let inputStates = states
        // Node states, then the ConfigMap, then the NADs.
        let makeItem: @Sendable (Int) -> CRValue = { index in
            if index < rendered.count {
                let name = rendered[index]
                let output = state.outputs[name]
                var nodeState = SriovV1.SriovNetworkNodeState()
                nodeState.metadata.name = name
                let inputNamespace = inputStates[name]?.metadata.namespace ?? ""
                nodeState.metadata.namespace = inputNamespace.isEmpty ? operatorNamespace : inputNamespace
                if let spec = output?.spec { nodeState.spec = spec }
                if let status = inputStates[name]?.status { nodeState.status = status }
                return CRCodec.encode(nodeState)
            }
            if index == rendered.count {
                let configData = rendered.map { name in
                    (key: name, value: CRValue.string(state.outputs[name]?.devicePluginConfig.jsonText ?? ""))
                }
                return .object([
                    ("apiVersion", .string("v1")),
                    ("kind", .string("ConfigMap")),
                    ("metadata", .object([
                        ("name", .string(configMapName)),
                        ("namespace", .string(operatorNamespace)),
                    ])),
                    ("data", .object(configData)),
                ])
            }
            guard case .success(let nad) = state.attachments[nadKeys[index - rendered.count - 1]] else { return .null }
            return nad.crValue
        }
        return .success(Output(itemCount: rendered.count + 1 + nadKeys.count, makeItem: makeItem, warnings: warnings))
    }
}
