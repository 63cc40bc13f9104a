import CYaml

/// Reads a YAML stream into ``CRValue`` trees straight from libyaml's events,
/// with every limit of ``DecodeLimits`` checked before the work it bounds.
///
/// Composing from events (rather than through a node tree) is what keeps
/// aliases cheap and bounded: an anchored value is kept once and an alias
/// shares it (copy-on-write), and at each alias, *before* it is used, the
/// reader checks the alias count, the nodes the alias adds against the
/// document's own size (``DecodeLimits/maxAliasExpansionRatio``) and the depth
/// the alias reaches. "Billion laughs" documents, alias chains and anchors
/// that nest past the depth limit therefore fail at once with an error naming
/// the alias and its line. A mapping key must be a scalar (an alias of a
/// collection as a key is refused without hashing the collection).
///
/// Scalars keep their text (``CRValue/resolvePlainScalar(_:)``); the tags
/// `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq` and `!!map` are
/// honoured and any other tag is an error; merge keys (`<<: *base`,
/// `<<: [*a, *b]`) merge the keys the mapping does not set itself, the first
/// merged mapping winning.
struct YAMLReader {
    /// A finished value with what the limits need to know about it.
    private struct Built {
        var value: CRValue
        /// Nodes in the value with aliases expanded.
        var size: Int
        /// Nesting levels below the value (0 for a scalar).
        var height: Int
        /// The text of a scalar, which a mapping key uses.
        var keyText: String?
        /// A plain `<<` scalar: a merge key.
        var isMergeKey = false
    }

    private struct Frame {
        var isMapping: Bool
        var anchor: String?
        var line: Int
        var items: [CRValue] = []
        var pairs: [(key: String, value: CRValue)] = []
        /// Keys set by the mapping itself, with their lines.
        var seen: [String: Int] = [:]
        var pendingKey: String?
        var pendingKeyIsMerge = false
        /// Merged pairs and the position in `pairs` where they go.
        var merges: [(at: Int, pairs: [(key: String, value: CRValue)])] = []
        var size = 1
        var height = 1
    }

    private let source: String
    private let limits: DecodeLimits
    private var documents: [CRValue.ParsedDocument] = []
    private var stack: [Frame] = []
    private var anchors: [String: Built] = [:]
    private var documentIndex = -1
    private var documentStart = 0
    private var nodes = 0
    private var aliases = 0
    private var aliasAdded = 0
    private var root: Built?

    private init(source: String, limits: DecodeLimits) {
        self.source = source
        self.limits = limits
    }

    /// Parses every document of the stream in `bytes` (UTF-8, already
    /// checked). Empty documents are skipped but counted in the indices.
    static func parse(
        _ bytes: UnsafeBufferPointer<UInt8>, source: String, limits: DecodeLimits
    ) throws(CRParseError) -> [CRValue.ParsedDocument] {
        var reader = YAMLReader(source: source, limits: limits)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw CRParseError(source: source, reason: "cannot start the YAML parser (out of memory)")
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw CRParseError(parser: parser, source: source, documentIndex: max(reader.documentIndex, 0))
            }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try reader.handle(event)
        }
        return reader.documents
    }

    private func error(_ reason: String, line: Int?, column: Int? = nil) -> CRParseError {
        CRParseError(source: source, documentIndex: max(documentIndex, 0), line: line, column: column, reason: reason)
    }

    private static func string(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private mutating func handle(_ event: yaml_event_t) throws(CRParseError) {
        let line = Int(event.start_mark.line) + 1
        let column = Int(event.start_mark.column) + 1
        if documentIndex >= 0, Int(event.start_mark.index) - documentStart > limits.maxDocumentBytes {
            throw error(
                "document larger than the limit of \(ByteCount.text(limits.maxDocumentBytes)); split it into smaller documents",
                line: line)
        }
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documentIndex += 1
            documentStart = Int(event.start_mark.index)
            anchors.removeAll(keepingCapacity: true)
            (nodes, aliases, aliasAdded, root) = (0, 0, 0, nil)
        case YAML_DOCUMENT_END_EVENT:
            if let root, root.value != .null {
                documents.append(CRValue.ParsedDocument(index: documentIndex, value: root.value))
            }
            root = nil
            anchors.removeAll()
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let length = Int(scalar.length)
            guard length <= limits.maxScalarBytes else {
                throw error(
                    "a scalar of \(ByteCount.text(length)) is longer than the limit of \(ByteCount.text(limits.maxScalarBytes))",
                    line: line, column: column)
            }
            let text = scalar.value.map {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            } ?? ""
            let tag = Self.string(scalar.tag)
            let isPlain = scalar.style == YAML_PLAIN_SCALAR_STYLE
            let value = try scalarValue(text, tag: tag, plain: isPlain, line: line, column: column)
            nodes += 1
            let built = Built(
                value: value, size: 1, height: 0, keyText: text, isMergeKey: isPlain && tag == nil && text == "<<")
            if let anchor = Self.string(scalar.anchor) { anchors[anchor] = built }
            try add(built, line: line, column: column)
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                throw error("alias *\(Self.short(name)) refers to no anchor defined before it", line: line, column: column)
            }
            aliases += 1
            if aliases > limits.maxAliases {
                throw error(
                    "excessive aliasing: more than \(limits.maxAliases) aliases in one document", line: line, column: column)
            }
            aliasAdded += target.size
            if aliasAdded > limits.aliasExpansionBudget(nodes: nodes) {
                throw error(
                    "excessive aliasing: alias *\(Self.short(name)) would expand the document to more than \(limits.maxAliasExpansionRatio) times its \(nodes) nodes (plus \(limits.aliasExpansionAllowance))",
                    line: line, column: column)
            }
            if stack.count + target.height > limits.maxDepth {
                throw error(
                    "nesting deeper than \(limits.maxDepth) levels through alias *\(Self.short(name))",
                    line: line, column: column)
            }
            var shared = target
            shared.isMergeKey = false
            try add(shared, line: line, column: column)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let tag = Self.string(isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag)
            let anchor = Self.string(isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
            if let tag, tag != "!", tag != (isMapping ? Self.mapTag : Self.seqTag) {
                throw error(
                    "unsupported tag \(Self.short(tag)) on a \(isMapping ? "mapping" : "sequence"); accepted: \(isMapping ? "!!map" : "!!seq")",
                    line: line, column: column)
            }
            guard stack.count < limits.maxDepth else {
                throw error("nesting deeper than \(limits.maxDepth) levels", line: line, column: column)
            }
            nodes += 1
            stack.append(Frame(isMapping: isMapping, anchor: anchor, line: line))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard var frame = stack.popLast() else { return }
            let value: CRValue
            if frame.isMapping {
                value = .object(Self.merged(&frame))
            } else {
                value = .array(frame.items)
            }
            let built = Built(value: value, size: frame.size, height: frame.height)
            if let anchor = frame.anchor { anchors[anchor] = built }
            try add(built, line: frame.line, column: nil)
        default:
            break
        }
    }

    /// Adds a finished value to the collection being built, or makes it the
    /// document's root.
    private mutating func add(_ built: Built, line: Int, column: Int?) throws(CRParseError) {
        guard !stack.isEmpty else {
            root = built
            return
        }
        let top = stack.count - 1
        stack[top].size &+= built.size
        stack[top].height = max(stack[top].height, built.height + 1)
        if !stack[top].isMapping {
            stack[top].items.append(built.value)
            return
        }
        guard let key = stack[top].pendingKey else {
            guard let keyText = built.keyText else {
                throw error("a mapping key must be a scalar", line: line, column: column)
            }
            if let first = stack[top].seen.updateValue(line, forKey: keyText) {
                throw error(
                    "duplicate key \(CRValue.quotedPrefix(keyText, limit: limits.maxQuotedValueLength)) (first set at line \(first))",
                    line: line, column: column)
            }
            stack[top].pendingKey = keyText
            stack[top].pendingKeyIsMerge = built.isMergeKey
            return
        }
        stack[top].pendingKey = nil
        if stack[top].pendingKeyIsMerge {
            var merged: [(key: String, value: CRValue)] = []
            switch built.value {
            case .object(let pairs): merged = pairs
            case .array(let items):
                for item in items {
                    guard case .object(let pairs) = item else {
                        throw error("a merge key (<<) takes a mapping or a list of mappings", line: line, column: column)
                    }
                    merged += pairs
                }
            default:
                throw error("a merge key (<<) takes a mapping or a list of mappings", line: line, column: column)
            }
            stack[top].merges.append((stack[top].pairs.count, merged))
            return
        }
        stack[top].pairs.append((key, built.value))
    }

    /// The pairs of a finished mapping with its merge keys applied: merged
    /// pairs go where the `<<` key was, except keys the mapping sets itself
    /// or an earlier merged mapping already gave.
    private static func merged(_ frame: inout Frame) -> [(key: String, value: CRValue)] {
        guard !frame.merges.isEmpty else { return frame.pairs }
        var taken = Set(frame.seen.keys)
        var out: [(key: String, value: CRValue)] = []
        var next = 0
        for (position, pairs) in frame.merges {
            while next < position {
                out.append(frame.pairs[next])
                next += 1
            }
            for pair in pairs where taken.insert(pair.key).inserted { out.append(pair) }
        }
        out += frame.pairs[next...]
        return out
    }

    static let strTag = "tag:yaml.org,2002:str"
    static let intTag = "tag:yaml.org,2002:int"
    static let floatTag = "tag:yaml.org,2002:float"
    static let boolTag = "tag:yaml.org,2002:bool"
    static let nullTag = "tag:yaml.org,2002:null"
    static let seqTag = "tag:yaml.org,2002:seq"
    static let mapTag = "tag:yaml.org,2002:map"

    private func scalarValue(
        _ text: String, tag: String?, plain: Bool, line: Int, column: Int
    ) throws(CRParseError) -> CRValue {
        guard let tag, tag != "!" else {
            return plain && tag == nil ? CRValue.resolvePlainScalar(text) : .string(text)
        }
        func bad(_ what: String) -> CRParseError {
            error(
                "\(CRValue.quotedPrefix(text, limit: limits.maxQuotedValueLength)) is not \(what)", line: line,
                column: column)
        }
        switch tag {
        case Self.strTag: return .string(text)
        case Self.intTag:
            guard let i = Int64(text) else { throw bad("a 64-bit decimal integer (!!int)") }
            return .int(i)
        case Self.floatTag:
            switch CRValue.resolvePlainScalar(text) {
            case .double(let d): return .double(d)
            case .int(let i): return .double(Double(i))
            default: throw bad("a number (!!float)")
            }
        case Self.boolTag:
            guard case .bool(let b) = CRValue.resolvePlainScalar(text) else { throw bad("true or false (!!bool)") }
            return .bool(b)
        case Self.nullTag:
            guard CRValue.resolvePlainScalar(text) == .null else { throw bad("null (!!null)") }
            return .null
        default:
            throw error(
                "unsupported tag \(Self.short(tag)); accepted: !!str, !!int, !!float, !!bool, !!null, !!seq, !!map",
                line: line, column: column)
        }
    }

    /// A name (anchor, tag) quoted back in a message, at most 64 characters.
    static func short(_ name: String) -> String {
        name.count <= 64 ? name : String(name.prefix(64)) + "…"
    }
}

extension CRParseError {
    /// The error libyaml reports, with its one-based line and column.
    init(parser: yaml_parser_t, source: String, documentIndex: Int) {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        var reason = problem
        if let context = parser.context.map({ String(cString: $0) }) { reason = "\(context) \(problem)" }
        if parser.error == YAML_READER_ERROR {
            self.init(
                source: source, documentIndex: documentIndex,
                reason: "\(reason) at byte offset \(parser.problem_offset)")
        } else {
            self.init(
                source: source, documentIndex: documentIndex, line: Int(parser.problem_mark.line) + 1,
                column: Int(parser.problem_mark.column) + 1, reason: reason)
        }
    }
}
