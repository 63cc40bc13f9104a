import SriovAPI
import SriovProto

/// An object the mirror keeps in the cluster.
public enum MirrorKey: Hashable, Sendable, CustomStringConvertible {
    /// The SriovNetworkNodeState of a node.
    case nodeState(String)
    /// A network's NetworkAttachmentDefinition in its target namespace.
    case networkAttachment(namespace: String, name: String)
    /// The device plugin's ConfigMap (one key per node).
    case devicePluginConfig

    public var description: String {
        switch self {
        case .nodeState(let n): "SriovNetworkNodeState \(n)"
        case .networkAttachment(let ns, let n): "NetworkAttachmentDefinition \(ns)/\(n)"
        case .devicePluginConfig: "ConfigMap of the device plugin"
        }
    }
}

/// One request the mirror sends to bring one object in step.
public struct KubeWrite: Sendable {
    public enum Part: Sendable, Hashable {
        /// Server-side apply of the object (for node states: without status).
        case object
        /// Server-side apply of the status subresource.
        case status
        /// Deletion of an object the mirror created.
        case delete
    }
    public var key: MirrorKey
    public var part: Part
    public var path: String
    /// The apply configuration; nil for a deletion.
    public var body: CRValue?
    /// Fingerprint of `body`, recorded once the write succeeded.
    public var fingerprint: Int
}

/// What the mirror wants in the cluster and what it last wrote there: pure
/// state, no I/O. Events from the controller and from the cluster change it;
/// `writes(for:)` says which requests bring one object in step, and
/// `written(_:resourceVersion:)` records a success.
///
/// Only differences are written: a node whose status changed costs one
/// request (the status apply), a node whose spec changed one more.
public struct MirrorState: Sendable {
    public let configuration: MirrorConfiguration

    /// Node states as the controller has them.
    private(set) var nodeStates: [String: SriovV1.SriovNetworkNodeState] = [:]
    /// NetworkAttachmentDefinitions by namespace/name as rendered (JSON).
    private(set) var attachments: [MirrorKey: SriovV1.RenderedObject] = [:]
    /// Device plugin configs by node (JSON).
    private(set) var devicePluginConfigs: [String: String] = [:]

    /// Per object and part: the fingerprint of what was last written and the
    /// resourceVersion the API server gave it.
    private var written: [MirrorKey: [KubeWrite.Part: (fingerprint: Int, resourceVersion: String)]] = [:]
    /// Objects known to exist in the cluster with the mirror's label.
    private(set) var owned: Set<MirrorKey> = []
    /// Objects that may be out of step.
    private(set) var dirty: Set<MirrorKey> = []

    /// Whether the first full snapshot of each controller stream arrived;
    /// until both did, nothing is deleted from the cluster.
    public var nodeSnapshotComplete = false
    public var renderedSnapshotComplete = false
    public var snapshotsComplete: Bool { nodeSnapshotComplete && renderedSnapshotComplete }

    public init(configuration: MirrorConfiguration) {
        self.configuration = configuration
    }

    public var nodeCount: Int { nodeStates.count }

    // MARK: controller events

    /// A node state was added or changed at the controller.
    public mutating func upsert(_ state: SriovV1.SriovNetworkNodeState) {
        nodeStates[state.metadata.name] = state
        dirty.insert(.nodeState(state.metadata.name))
    }

    /// A node state was deleted at the controller.
    public mutating func removeNodeState(_ name: String) {
        nodeStates[name] = nil
        dirty.insert(.nodeState(name))
    }

    /// The full set of node states (after a (re)connect without resume).
    public mutating func replaceNodeStates(_ states: [SriovV1.SriovNetworkNodeState]) {
        let old = Set(nodeStates.keys)
        nodeStates = Dictionary(states.map { ($0.metadata.name, $0) }, uniquingKeysWith: { $1 })
        for name in old.union(nodeStates.keys) { dirty.insert(.nodeState(name)) }
        nodeSnapshotComplete = true
    }

    /// A rendered object was added or changed.
    public mutating func upsert(_ object: SriovV1.RenderedObject) {
        switch object.kind {
        case "NetworkAttachmentDefinition":
            let key = MirrorKey.networkAttachment(namespace: object.namespace, name: object.name)
            attachments[key] = object
            dirty.insert(key)
        case "DevicePluginConfig":
            devicePluginConfigs[object.name] = object.json
            dirty.insert(.devicePluginConfig)
        default:
            break
        }
    }

    /// A rendered object was deleted.
    public mutating func remove(_ object: SriovV1.RenderedObject) {
        switch object.kind {
        case "NetworkAttachmentDefinition":
            let key = MirrorKey.networkAttachment(namespace: object.namespace, name: object.name)
            attachments[key] = nil
            dirty.insert(key)
        case "DevicePluginConfig":
            devicePluginConfigs[object.name] = nil
            dirty.insert(.devicePluginConfig)
        default:
            break
        }
    }

    /// The full set of rendered objects.
    public mutating func replaceRendered(_ objects: [SriovV1.RenderedObject]) {
        let oldKeys = Set(attachments.keys)
        attachments = [:]
        devicePluginConfigs = [:]
        for o in objects { upsert(o) }
        for key in oldKeys.union(attachments.keys) { dirty.insert(key) }
        dirty.insert(.devicePluginConfig)
        renderedSnapshotComplete = true
    }

    // MARK: cluster events

    /// What a listing of the cluster found: every object with the mirror's
    /// label and its resourceVersion. Objects that changed behind the
    /// mirror's back, disappeared or are no longer wanted become dirty.
    public mutating func clusterListed(_ found: [MirrorKey: String], kinds: Set<Kind>) {
        for key in owned where kinds.contains(Kind(key)) && found[key] == nil {
            owned.remove(key)
            written[key] = nil
            dirty.insert(key)
        }
        for (key, resourceVersion) in found {
            owned.insert(key)
            let known = written[key]?.values.map(\.resourceVersion) ?? []
            if !known.contains(resourceVersion) {
                written[key] = nil
                dirty.insert(key)
            }
        }
        for key in wantedKeys() where kinds.contains(Kind(key)) && found[key] == nil {
            written[key] = nil
            dirty.insert(key)
        }
    }

    /// A watch of the cluster saw `key` change to `resourceVersion` (nil:
    /// deleted). A change the mirror did not make makes it dirty.
    public mutating func clusterChanged(_ key: MirrorKey, resourceVersion: String?) {
        guard let resourceVersion else {
            owned.remove(key)
            written[key] = nil
            dirty.insert(key)
            return
        }
        owned.insert(key)
        let known = written[key]?.values.map(\.resourceVersion) ?? []
        if !known.contains(resourceVersion) {
            written[key] = nil
            dirty.insert(key)
        }
    }

    /// The kinds of objects, for listings that cover one kind.
    public enum Kind: Hashable, Sendable {
        case nodeState, networkAttachment, configMap
        init(_ key: MirrorKey) {
            switch key {
            case .nodeState: self = .nodeState
            case .networkAttachment: self = .networkAttachment
            case .devicePluginConfig: self = .configMap
            }
        }
    }

    private func wantedKeys() -> [MirrorKey] {
        nodeStates.keys.map { MirrorKey.nodeState($0) } + Array(attachments.keys) + [.devicePluginConfig]
    }

    // MARK: writes

    /// Takes up to `limit` dirty keys (they stay taken until `finished`).
    public mutating func takeDirty(limit: Int) -> [MirrorKey] {
        let keys = Array(dirty.prefix(limit))
        for k in keys { dirty.remove(k) }
        return keys
    }

    /// Takes one dirty key (the writer's choice).
    public mutating func takeDirtyKey(_ key: MirrorKey) { dirty.remove(key) }

    /// Marks `key` dirty again (after a failed write).
    public mutating func markDirty(_ key: MirrorKey) { dirty.insert(key) }

    /// The requests that bring `key` in step, in order; empty when it is.
    public func writes(for key: MirrorKey) -> [KubeWrite] {
        let c = configuration
        switch key {
        case .nodeState(let name):
            let path = KubePaths.nodeState(namespace: c.namespace, name: name)
            guard let state = nodeStates[name] else {
                return owned.contains(key) || written[key] != nil ? [KubeWrite(key: key, part: .delete, path: path, body: nil, fingerprint: 0)] : []
            }
            let encoded = CRCodec.encode(state)
            let meta = metadata(name: name, namespace: c.namespace)
            let object = CRValue.object([
                ("apiVersion", .string(CRCodec.apiVersion)), ("kind", .string(CRCodec.Kind.nodeState)),
                ("metadata", meta), ("spec", encoded["spec"] ?? .object([])),
            ])
            let status = CRValue.object([
                ("apiVersion", .string(CRCodec.apiVersion)), ("kind", .string(CRCodec.Kind.nodeState)),
                ("metadata", .object([("name", .string(name)), ("namespace", .string(c.namespace))])),
                ("status", encoded["status"] ?? .object([])),
            ])
            var out: [KubeWrite] = []
            let objectPrint = object.hashValue
            if written[key]?[.object]?.fingerprint != objectPrint {
                out.append(KubeWrite(key: key, part: .object, path: path, body: object, fingerprint: objectPrint))
            }
            let statusPrint = status.hashValue
            if written[key]?[.status]?.fingerprint != statusPrint {
                out.append(KubeWrite(key: key, part: .status, path: path + "/status", body: status, fingerprint: statusPrint))
            }
            return out
        case .networkAttachment(let namespace, let name):
            let path = KubePaths.networkAttachment(namespace: namespace, name: name)
            guard let rendered = attachments[key], rendered.error.isEmpty,
                let parsed = try? CRValue.parseDocument(rendered.json, source: "rendered \(key)")
            else {
                // Absent, or not renderable (the SriovNetwork carries why):
                // nothing of it may stay in the cluster.
                let wanted = attachments[key] != nil && attachments[key]!.error.isEmpty
                return !wanted && (owned.contains(key) || written[key] != nil)
                    ? [KubeWrite(key: key, part: .delete, path: path, body: nil, fingerprint: 0)] : []
            }
            let object = Self.labelled(parsed, name: name, namespace: namespace)
            let print = object.hashValue
            return written[key]?[.object]?.fingerprint == print
                ? [] : [KubeWrite(key: key, part: .object, path: path, body: object, fingerprint: print)]
        case .devicePluginConfig:
            let path = KubePaths.configMap(namespace: c.namespace, name: c.configMapName)
            let data = CRValue.object(devicePluginConfigs.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
            let object = CRValue.object([
                ("apiVersion", .string("v1")), ("kind", .string("ConfigMap")),
                ("metadata", metadata(name: c.configMapName, namespace: c.namespace)), ("data", data),
            ])
            let print = object.hashValue
            return written[key]?[.object]?.fingerprint == print
                ? [] : [KubeWrite(key: key, part: .object, path: path, body: object, fingerprint: print)]
        }
    }

    /// Records a successful write.
    public mutating func written(_ write: KubeWrite, resourceVersion: String) {
        switch write.part {
        case .delete:
            written[write.key] = nil
            owned.remove(write.key)
        case .object, .status:
            written[write.key, default: [:]][write.part] = (write.fingerprint, resourceVersion)
            // The other part's resourceVersion moved too.
            owned.insert(write.key)
        }
    }

    /// The resourceVersions the mirror's own writes produced for `key`.
    public func knownResourceVersions(_ key: MirrorKey) -> [String] {
        written[key]?.values.map(\.resourceVersion) ?? []
    }

    func metadata(name: String, namespace: String) -> CRValue {
        .object([
            ("name", .string(name)), ("namespace", .string(namespace)),
            ("labels", .object([(MirrorConfiguration.managedByLabel, .string(MirrorConfiguration.managedByValue))])),
        ])
    }

    /// The rendered NetworkAttachmentDefinition with the mirror's label added
    /// (its annotations, among them the owner reference, kept).
    static func labelled(_ nad: CRValue, name: String, namespace: String) -> CRValue {
        guard case .object(var pairs) = nad else { return nad }
        var meta: [(key: String, value: CRValue)] = []
        if let i = pairs.firstIndex(where: { $0.key == "metadata" }), case .object(let m) = pairs[i].value {
            meta = m
            pairs.remove(at: i)
        }
        meta.removeAll { $0.key == "name" || $0.key == "namespace" || $0.key == "resourceVersion" }
        var labels: [(key: String, value: CRValue)] = []
        if let i = meta.firstIndex(where: { $0.key == "labels" }), case .object(let l) = meta[i].value {
            labels = l.filter { $0.key != MirrorConfiguration.managedByLabel }
            meta.remove(at: i)
        }
        labels.append((MirrorConfiguration.managedByLabel, .string(MirrorConfiguration.managedByValue)))
        let newMeta: [(key: String, value: CRValue)] = [("name", .string(name)), ("namespace", .string(namespace)), ("labels", .object(labels))] + meta
        var out: [(key: String, value: CRValue)] = pairs.filter { $0.key == "apiVersion" || $0.key == "kind" }
        out.append(("metadata", .object(newMeta)))
        out += pairs.filter { $0.key != "apiVersion" && $0.key != "kind" }
        return .object(out)
    }
}

/// REST paths of the objects the mirror touches.
public enum KubePaths {
    public static func nodeStates(namespace: String) -> String {
        "/apis/sriovnetwork.openshift.io/v1/namespaces/\(namespace)/sriovnetworknodestates"
    }
    public static func nodeState(namespace: String, name: String) -> String {
        nodeStates(namespace: namespace) + "/" + name
    }
    public static let allNetworkAttachments = "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions"
    public static func networkAttachment(namespace: String, name: String) -> String {
        "/apis/k8s.cni.cncf.io/v1/namespaces/\(namespace)/network-attachment-definitions/\(name)"
    }
    public static func configMaps(namespace: String) -> String {
        "/api/v1/namespaces/\(namespace)/configmaps"
    }
    public static func configMap(namespace: String, name: String) -> String {
        "/api/v1/namespaces/\(namespace)/configmaps/\(name)"
    }
    public static let allPolicies = "/apis/sriovnetwork.openshift.io/v1/sriovnetworknodepolicies"
    public static let allNetworks = "/apis/sriovnetwork.openshift.io/v1/sriovnetworks"
    public static func events(namespace: String) -> String { "/api/v1/namespaces/\(namespace)/events" }
}
