import SriovAPI

/// The kinds `get`, `describe`, `delete` and `watch` take, with the names
/// kubectl users type for them.
enum ResourceKind: String, CaseIterable {
    case policy, network, nodeState, networkAttachmentDefinition, devicePluginConfig

    /// The kind as `kind/name` prints it (kubectl's lower-case singular).
    var resourceName: String {
        switch self {
        case .policy: "sriovnetworknodepolicy"
        case .network: "sriovnetwork"
        case .nodeState: "sriovnetworknodestate"
        case .networkAttachmentDefinition: "network-attachment-definition"
        case .devicePluginConfig: "devicepluginconfig"
        }
    }

    /// The Kubernetes kind.
    var kind: String {
        switch self {
        case .policy: CRCodec.Kind.policy
        case .network: CRCodec.Kind.network
        case .nodeState: CRCodec.Kind.nodeState
        case .networkAttachmentDefinition: "NetworkAttachmentDefinition"
        case .devicePluginConfig: "DevicePluginConfig"
        }
    }

    /// Every accepted spelling (compared in lower case, with an optional
    /// `.sriovnetwork.openshift.io` group suffix).
    var aliases: [String] {
        switch self {
        case .policy: ["sriovnetworknodepolicy", "sriovnetworknodepolicies", "snnp", "policy", "policies"]
        case .network: ["sriovnetwork", "sriovnetworks", "sn", "network", "networks"]
        case .nodeState: ["sriovnetworknodestate", "sriovnetworknodestates", "snns", "nodestate", "nodestates", "node-state", "node-states"]
        case .networkAttachmentDefinition:
            ["network-attachment-definition", "network-attachment-definitions", "networkattachmentdefinition",
             "networkattachmentdefinitions", "net-attach-def", "net-attach-defs", "nad", "nads"]
        case .devicePluginConfig: ["devicepluginconfig", "devicepluginconfigs", "device-plugin-config", "device-plugin-configs", "dpc"]
        }
    }

    /// The kind a user typed, or nil.
    init?(typed: String) {
        var t = typed.lowercased()
        for suffix in [".sriovnetwork.openshift.io", ".k8s.cni.cncf.io"] where t.hasSuffix(suffix) {
            t.removeLast(suffix.count)
        }
        guard let k = Self.allCases.first(where: { $0.aliases.contains(t) }) else { return nil }
        self = k
    }

    /// Parses `KIND` or `KIND/NAME` with an optional separate NAME.
    static func parse(_ typed: String, name: String?, allowed: [ResourceKind]) throws(CLIError) -> (ResourceKind, String?) {
        var kindText = typed
        var objectName = name
        if let slash = typed.firstIndex(of: "/") {
            kindText = String(typed[..<slash])
            let n = String(typed[typed.index(after: slash)...])
            if objectName != nil { throw .usage("give the name either as \(typed) or as a separate argument, not both") }
            if n.isEmpty { throw .usage("\(typed): the name after / is empty") }
            objectName = n
        }
        guard let kind = ResourceKind(typed: kindText), allowed.contains(kind) else {
            let names = allowed.map { "\($0.aliases[0]) (\($0.aliases.dropFirst().joined(separator: ", ")))" }
            throw .usage("unknown resource type \"\(kindText)\"; expected one of: \(names.joined(separator: "; "))")
        }
        return (kind, objectName)
    }
}
