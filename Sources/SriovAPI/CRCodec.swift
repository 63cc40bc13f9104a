import SriovProto

/// Kubernetes-shaped YAML/JSON ⇄ the typed API messages.
///
/// Field names are the upstream operator's JSON tags
/// (`sriovnetwork.openshift.io/v1`). Decoding is strict, like
/// `kubectl --validate=strict`: an unknown field or a value of the wrong type
/// is an error, and every error of every object is reported at once in a
/// ``FieldErrorList``. Decoding applies no defaults (see ``Defaults``), so an
/// object encodes back to what was read.
///
/// Accepted older spellings from the operator's 2019 README:
/// `status.interfaces[].maxVfs` for `totalvfs`, and an interface-level
/// `spec.interfaces[].deviceType`, which becomes one VF group with that
/// device type and the range `0-(numVfs-1)`.
public enum CRCodec {
    /// The API group and version of the three custom resource kinds.
    public static let apiVersion = "sriovnetwork.openshift.io/v1"

    /// Kind names.
    public enum Kind {
        public static let policy = "SriovNetworkNodePolicy"
        public static let network = "SriovNetwork"
        public static let nodeState = "SriovNetworkNodeState"
        public static let node = "Node"
        public static let list = "List"
    }

    // MARK: - Streams

    /// Decodes every object of a YAML stream or JSON document. `List`
    /// wrappers (`kind: List` or any `…List` kind with `items`) are unwrapped
    /// recursively; empty documents are skipped.
    ///
    /// - Throws: ``CRParseError`` for text that is not YAML/JSON, otherwise a
    ///   ``FieldErrorList`` with the problems of all objects, each located by
    ///   source and document index.
    public static func decodeObjects(from text: String, source: String) throws -> [APIObject] {
        let documents = try CRValue.parseIndexedDocuments(text, source: source)
        var objects: [APIObject] = []
        var errors: [FieldError] = []
        for document in documents {
            do {
                objects += try decodeObjects(document.value)
            } catch let list as FieldErrorList {
                errors += list.errors.map {
                    var e = $0
                    e.location = "\(source) (document \(document.index))"
                    e.line = document.node?.line(at: e.path)
                    return e
                }
            }
        }
        if !errors.isEmpty { throw FieldErrorList(errors) }
        return objects
    }

    /// Decodes one document: an object of a known kind or a list of them.
    public static func decodeObjects(_ value: CRValue, path: String = "") throws -> [APIObject] {
        var objects: [APIObject] = []
        var errors: [FieldError] = []
        collect(value, path: path, into: &objects, errors: &errors)
        if !errors.isEmpty { throw FieldErrorList(errors) }
        return objects
    }

    private static func collect(_ value: CRValue, path: String, into objects: inout [APIObject], errors: inout [FieldError]) {
        guard case .object = value else {
            errors.append(
                FieldError(
                    code: .wrongType, kind: "", name: "", path: path, value: FieldReader.show(value),
                    message: "expected an object with apiVersion and kind"))
            return
        }
        let kind: String
        if case .string(let k)? = value["kind"] {
            kind = k
        } else {
            kind = ""
        }
        do {
            switch kind {
            case Kind.policy: objects.append(.policy(try decodePolicy(value, path: path)))
            case Kind.network: objects.append(.network(try decodeNetwork(value, path: path)))
            case Kind.nodeState: objects.append(.nodeState(try decodeNodeState(value, path: path)))
            case Kind.node: objects.append(.node(try decodeNode(value, path: path)))
            default:
                if kind.hasSuffix("List"), let items = value["items"] {
                    guard case .array(let array) = items else {
                        errors.append(
                            FieldError(
                                code: .wrongType, kind: kind, name: "", path: FieldReader.join(path, "items"),
                                value: FieldReader.show(items), message: "expected list"))
                        return
                    }
                    for (i, item) in array.enumerated() {
                        collect(item, path: FieldReader.join(path, "items[\(i)]"), into: &objects, errors: &errors)
                    }
                    return
                }
                let name: String
                if case .string(let n)? = value["metadata"]?["name"] { name = n } else { name = "" }
                errors.append(
                    FieldError(
                        code: .invalid, kind: kind, name: name, path: FieldReader.join(path, "kind"),
                        value: kind.isEmpty ? nil : CRValue.yamlDoubleQuoted(kind),
                        message: kind.isEmpty
                            ? "kind is missing; accepted kinds: \(acceptedKinds)"
                            : "unsupported kind; accepted kinds: \(acceptedKinds)"))
            }
        } catch let list as FieldErrorList {
            errors += list.errors
        } catch {
            errors.append(FieldError(code: .invalid, kind: kind, name: "", path: path, value: nil, message: "\(error)"))
        }
    }

    private static let acceptedKinds =
        "\(Kind.policy), \(Kind.network), \(Kind.nodeState), Node, List (and …List kinds with items)"

    // MARK: - Per-kind entry points by result type

    /// Decodes a SriovNetworkNodePolicy; see ``decodePolicy(_:path:)``.
    public static func decode(_ value: CRValue, path: String = "") throws -> SriovV1.SriovNetworkNodePolicy {
        try decodePolicy(value, path: path)
    }

    /// Decodes a SriovNetwork; see ``decodeNetwork(_:path:)``.
    public static func decode(_ value: CRValue, path: String = "") throws -> SriovV1.SriovNetwork {
        try decodeNetwork(value, path: path)
    }

    /// Decodes a SriovNetworkNodeState; see ``decodeNodeState(_:path:)``.
    public static func decode(_ value: CRValue, path: String = "") throws -> SriovV1.SriovNetworkNodeState {
        try decodeNodeState(value, path: path)
    }

    /// Decodes a Node; see ``decodeNode(_:path:)``.
    public static func decode(_ value: CRValue, path: String = "") throws -> KubeNode {
        try decodeNode(value, path: path)
    }

    /// Encodes any decoded object back to its Kubernetes shape.
    public static func encode(_ object: APIObject) -> CRValue {
        switch object {
        case .policy(let p): encode(p)
        case .network(let n): encode(n)
        case .nodeState(let s): encode(s)
        case .node(let n): encode(n)
        }
    }

    /// A `v1 List` holding `items`, as `kubectl get -o yaml` prints several
    /// objects.
    public static func list(_ items: [CRValue]) -> CRValue {
        .object([
            ("apiVersion", .string("v1")), ("items", .array(items)), ("kind", .string(Kind.list)),
            ("metadata", .object([("resourceVersion", .string(""))])),
        ])
    }

    // MARK: - Node

    /// Reads `metadata.name` and `metadata.labels` of a `v1 Node`; other
    /// fields are ignored, not rejected.
    public static func decodeNode(_ value: CRValue, path: String = "") throws -> KubeNode {
        var reader = FieldReader(kind: Kind.node)
        guard case .object = value else {
            reader.fail(.wrongType, path, value: FieldReader.show(value), "expected object")
            throw FieldErrorList(reader.errors)
        }
        let metadata = value["metadata"] ?? .null
        let metaPath = FieldReader.join(path, "metadata")
        var node = KubeNode(name: "")
        if let name = metadata["name"] { node.name = reader.string(name, at: FieldReader.join(metaPath, "name")) }
        reader.name = node.name
        if let labels = metadata["labels"] {
            node.labels = reader.stringMap(labels, at: FieldReader.join(metaPath, "labels"))
        }
        if node.name.isEmpty {
            reader.fail(.required, FieldReader.join(metaPath, "name"), value: nil, "a Node needs a name")
        }
        if !reader.errors.isEmpty { throw FieldErrorList(reader.errors) }
        return node
    }

    /// A minimal `v1 Node` with the name and labels.
    public static func encode(_ node: KubeNode) -> CRValue {
        var meta = ObjectBuilder()
        meta.string("name", node.name, omitEmpty: false)
        meta.map("labels", node.labels)
        var b = ObjectBuilder()
        b.string("apiVersion", "v1")
        b.string("kind", Kind.node)
        b.set("metadata", meta.value)
        return b.value
    }

    // MARK: - Shared parts

    static let topLevelFields = ["apiVersion", "kind", "metadata", "spec", "status"]

    /// ObjectMeta fields this model keeps.
    static let metadataFields = [
        "name", "namespace", "labels", "annotations", "resourceVersion", "generation", "creationTimestamp", "uid",
    ]
    /// Standard ObjectMeta fields that are valid but not kept (server-set
    /// bookkeeping such as `managedFields`).
    static let ignoredMetadataFields: Set<String> = [
        "generateName", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
        "finalizers", "managedFields",
    ]

    /// Checks `apiVersion` and `kind`, reads `metadata`, and returns the
    /// `spec` and `status` values (null when absent).
    static func readEnvelope(
        _ value: CRValue, kind: String, path: String, reader: inout FieldReader, meta: inout SriovV1.ObjectMeta
    ) -> (spec: CRValue, status: CRValue) {
        if case .string(let n)? = value["metadata"]?["name"] { reader.name = n }
        var spec = CRValue.null
        var status = CRValue.null
        var sawKind = false
        var sawVersion = false
        for (key, v) in reader.members(value, at: path, accepted: topLevelFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "apiVersion":
                sawVersion = true
                let s = reader.string(v, at: p)
                if s != apiVersion {
                    reader.fail(.invalid, p, value: CRValue.yamlDoubleQuoted(s), "accepted: \(apiVersion)")
                }
            case "kind":
                sawKind = true
                let s = reader.string(v, at: p)
                if s != kind { reader.fail(.invalid, p, value: CRValue.yamlDoubleQuoted(s), "accepted: \(kind)") }
            case "metadata": meta = readMetadata(v, path: p, reader: &reader)
            case "spec": spec = v
            case "status": status = v
            default: break
            }
        }
        if !sawVersion { reader.fail(.required, FieldReader.join(path, "apiVersion"), value: nil, "accepted: \(apiVersion)") }
        if !sawKind { reader.fail(.required, FieldReader.join(path, "kind"), value: nil, "accepted: \(kind)") }
        return (spec, status)
    }

    static func readMetadata(_ value: CRValue, path: String, reader: inout FieldReader) -> SriovV1.ObjectMeta {
        var meta = SriovV1.ObjectMeta()
        for (key, v) in reader.members(value, at: path, accepted: metadataFields, ignored: ignoredMetadataFields) {
            let p = FieldReader.join(path, key)
            switch key {
            case "name": meta.name = reader.string(v, at: p)
            case "namespace": meta.namespace = reader.string(v, at: p)
            case "labels": meta.labels = reader.stringMap(v, at: p)
            case "annotations": meta.annotations = reader.stringMap(v, at: p)
            case "resourceVersion": meta.resourceVersion = reader.string(v, at: p)
            case "generation": meta.generation = reader.int64(v, at: p, range: Int64.min...Int64.max) ?? 0
            case "creationTimestamp": meta.creationTimestamp = readTimestamp(v, path: p, reader: &reader)
            case "uid": meta.uid = reader.string(v, at: p)
            default: break
            }
        }
        return meta
    }

    static func readTimestamp(_ value: CRValue, path: String, reader: inout FieldReader) -> GoogleProtobuf.Timestamp {
        let text = reader.string(value, at: path)
        if text.isEmpty { return GoogleProtobuf.Timestamp() }
        guard let t = RFC3339.parse(text) else {
            reader.fail(
                .invalid, path, value: CRValue.yamlDoubleQuoted(text),
                "expected an RFC 3339 time such as 2019-05-21T10:04:00Z")
            return GoogleProtobuf.Timestamp()
        }
        return t
    }

    static func isZero(_ t: GoogleProtobuf.Timestamp) -> Bool { t.seconds == 0 && t.nanos == 0 }

    static func encodeMetadata(_ meta: SriovV1.ObjectMeta) -> CRValue {
        var b = ObjectBuilder()
        b.string("name", meta.name)
        b.string("namespace", meta.namespace)
        b.map("labels", meta.labels)
        b.map("annotations", meta.annotations)
        b.string("resourceVersion", meta.resourceVersion)
        b.int("generation", meta.generation)
        if !isZero(meta.creationTimestamp) { b.set("creationTimestamp", .string(RFC3339.format(meta.creationTimestamp))) }
        b.string("uid", meta.uid)
        return b.value
    }

    static func envelope(kind: String, meta: SriovV1.ObjectMeta, spec: CRValue?, status: CRValue?) -> CRValue {
        var b = ObjectBuilder()
        b.string("apiVersion", apiVersion)
        b.string("kind", kind)
        b.set("metadata", encodeMetadata(meta))
        if let spec { b.set("spec", spec) }
        if let status { b.nested("status", status) }
        return b.value
    }
}
