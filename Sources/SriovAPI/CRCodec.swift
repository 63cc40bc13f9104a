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
    /// Every limit of `limits` applies (input, document and scalar size,
    /// depth, aliases, objects per List); at most ``DecodeLimits/maxErrors``
    /// errors are returned, the others counted in
    /// ``FieldErrorList/omitted``. Each error names the source, the document
    /// and the line of its field.
    ///
    /// - Parameters:
    ///   - allowEmpty: whether a stream without any object (empty, or
    ///     comments only) is accepted; by default it is an error.
    ///   - validate: whether each decoded object is also checked by
    ///     ``Validation``, its problems located like decoding errors (path
    ///     below the List item, source, document and line).
    /// - Throws: ``CRParseError`` for text that is not YAML/JSON or breaks a
    ///   limit, otherwise a ``FieldErrorList`` with the problems of all
    ///   objects, each located by source, document index and line.
    public static func decodeObjects(
        from text: String, source: String, limits: DecodeLimits = .defaults, allowEmpty: Bool = false,
        validate: Bool = false
    ) throws -> [APIObject] {
        try CRValue.withUTF8(text) {
            try decodeObjects(utf8: $0, source: source, limits: limits, allowEmpty: allowEmpty, validate: validate)
        }
    }

    /// ``decodeObjects(from:source:limits:allowEmpty:)`` for UTF-8 bytes, such
    /// as a file's contents; invalid UTF-8 is an error naming its line and
    /// byte offset.
    public static func decodeObjects(
        fromUTF8 bytes: [UInt8], source: String, limits: DecodeLimits = .defaults, allowEmpty: Bool = false,
        validate: Bool = false
    ) throws -> [APIObject] {
        try bytes.withUnsafeBufferPointer {
            try decodeObjects(utf8: $0, source: source, limits: limits, allowEmpty: allowEmpty, validate: validate)
        }
    }

    static func decodeObjects(
        utf8 bytes: UnsafeBufferPointer<UInt8>, source: String, limits: DecodeLimits, allowEmpty: Bool,
        validate: Bool
    ) throws -> [APIObject] {
        var documents = try CRValue.parseIndexedDocuments(bytes, source: source, limits: limits)
        if documents.isEmpty && !allowEmpty {
            throw CRParseError(
                source: source, reason: "no objects in the input (it is empty or holds only comments)")
        }
        var objects: [APIObject] = []
        var collector = Collector(limits: limits, validate: validate)
        var errorDocuments: [Int] = []
        for d in documents.indices {
            let before = collector.errors.count
            collector.collect(documents[d].value, path: "", into: &objects)
            // The tree is not needed any more: free it before the next one.
            documents[d].value = .null
            errorDocuments += Array(repeating: documents[d].index, count: collector.errors.count - before)
        }
        if collector.errors.isEmpty { return objects }
        // Place the errors: one pass over the text for all of them.
        let queries = zip(collector.errors, errorDocuments).map {
            YAMLReader.LineQuery(document: $1, path: FieldPath.tokens($0.path))
        }
        let lines = YAMLReader.lines(of: queries, in: bytes)
        var errors = collector.errors
        for i in errors.indices {
            errors[i].location = "\(source) (document \(errorDocuments[i]))"
            errors[i].line = lines[queries[i]]
        }
        throw FieldErrorList(errors, omitted: collector.omitted)
    }

    /// Decodes one document: an object of a known kind or a list of them.
    public static func decodeObjects(_ value: CRValue, path: String = "", limits: DecodeLimits = .defaults) throws -> [APIObject] {
        var objects: [APIObject] = []
        var collector = Collector(limits: limits)
        collector.collect(value, path: path, into: &objects)
        if !collector.errors.isEmpty { throw FieldErrorList(collector.errors, omitted: collector.omitted) }
        return objects
    }

    /// Decodes the objects of documents, keeping at most
    /// ``DecodeLimits/maxErrors`` errors and counting the rest.
    struct Collector {
        let limits: DecodeLimits
        /// Whether decoded objects are validated too.
        var validate = false
        var errors: [FieldError] = []
        var omitted = 0
        /// Objects seen so far, Lists included, against ``DecodeLimits/maxListItems``.
        var listItems = 0

        init(limits: DecodeLimits, validate: Bool = false) {
            self.limits = limits
            self.validate = validate
        }

        /// Adds a decoded object, with its validation problems when asked.
        mutating func add(_ object: APIObject, path: String, to objects: inout [APIObject]) {
            objects.append(object)
            guard validate else { return }
            for var error in Validation.validate(object) {
                if !path.isEmpty { error.path = error.path.isEmpty ? path : "\(path).\(error.path)" }
                append(error)
            }
        }

        mutating func append(_ error: FieldError) {
            if errors.count < limits.maxErrors { errors.append(error) } else { omitted += 1 }
        }

        mutating func append(contentsOf list: FieldErrorList) {
            for error in list.errors { append(error) }
            omitted += list.omitted
        }

        mutating func collect(_ value: CRValue, path: String, into objects: inout [APIObject]) {
            guard case .object = value else {
                append(
                    FieldError(
                        code: .wrongType, kind: "", name: "", path: path, value: FieldReader.show(value),
                        message: "expected an object with apiVersion and kind"))
                return
            }
            let kind: String
            switch value["kind"] {
            case .string(let k)?: kind = k
            case nil, .null?: kind = ""
            case let other?:
                append(
                    FieldError(
                        code: .wrongType, kind: "", name: "", path: FieldReader.join(path, "kind"),
                        value: FieldReader.show(other),
                        message: "expected string, got \(FieldReader.typeName(other)); accepted kinds: \(acceptedKinds)"))
                return
            }
            do {
                switch kind {
                case Kind.policy: add(.policy(try decodePolicy(value, path: path)), path: path, to: &objects)
                case Kind.network: add(.network(try decodeNetwork(value, path: path)), path: path, to: &objects)
                case Kind.nodeState: add(.nodeState(try decodeNodeState(value, path: path)), path: path, to: &objects)
                case Kind.node: add(.node(try decodeNode(value, path: path)), path: path, to: &objects)
                default:
                    if kind.hasSuffix("List"), let items = value["items"] {
                        collectList(value, kind: kind, items: items, path: path, into: &objects)
                        return
                    }
                    let name: String
                    if case .string(let n)? = value["metadata"]?["name"] { name = n } else { name = "" }
                    append(
                        FieldError(
                            code: .invalid, kind: kind, name: name, path: FieldReader.join(path, "kind"),
                            value: kind.isEmpty ? nil : FieldReader.quote(kind),
                            message: kind.isEmpty
                                ? "kind is missing; accepted kinds: \(acceptedKinds)"
                                : "unsupported kind; accepted kinds: \(acceptedKinds)"))
                }
            } catch let list as FieldErrorList {
                append(contentsOf: list)
            } catch {
                append(FieldError(code: .invalid, kind: kind, name: "", path: path, value: nil, message: "\(error)"))
            }
        }

        /// A `List` or `…List`: apiVersion, kind, metadata and items only,
        /// at most ``DecodeLimits/maxListItems`` objects in all.
        private mutating func collectList(
            _ value: CRValue, kind: String, items: CRValue, path: String, into objects: inout [APIObject]
        ) {
            var reader = FieldReader(kind: kind)
            _ = reader.members(value, at: path, accepted: ["apiVersion", "kind", "metadata", "items"])
            for error in reader.errors { append(error) }
            guard case .array(let array) = items else {
                append(
                    FieldError(
                        code: .wrongType, kind: kind, name: "", path: FieldReader.join(path, "items"),
                        value: FieldReader.show(items), message: "expected list"))
                return
            }
            listItems += array.count
            guard listItems <= limits.maxListItems else {
                append(
                    FieldError(
                        code: .invalid, kind: kind, name: "", path: FieldReader.join(path, "items"), value: nil,
                        message: "\(array.count) items bring the input past the limit of \(limits.maxListItems) objects in Lists; split the input"))
                return
            }
            objects.reserveCapacity(objects.count + array.count)
            for (i, item) in array.enumerated() {
                collect(item, path: FieldReader.join(path, "items[\(i)]"), into: &objects)
            }
        }
    }

    static let acceptedKinds =
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
                    reader.fail(.invalid, p, value: FieldReader.quote(s), "accepted: \(apiVersion)")
                }
            case "kind":
                sawKind = true
                let s = reader.string(v, at: p)
                if s != kind { reader.fail(.invalid, p, value: FieldReader.quote(s), "accepted: \(kind)") }
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
                .invalid, path, value: FieldReader.quote(text),
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
