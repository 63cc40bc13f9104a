import CYaml

extension YAMLReader {
    /// A field path of one document, as ``FieldPath`` splits it.
    struct LineQuery: Hashable {
        var document: Int
        var path: [FieldPath.Token]
    }

    /// The one-based line of each queried field path: the line of the last
    /// mapping key or sequence item on the path that exists in the text.
    ///
    /// One pass over the stream's events, done only when there are errors to
    /// place: a path is built only below nodes that are prefixes of a query,
    /// so the pass costs one event walk plus the queries' own length, however
    /// many errors there are. Text libyaml cannot read gives no lines.
    static func lines(
        of queries: [LineQuery], in bytes: UnsafeBufferPointer<UInt8>
    ) -> [LineQuery: Int] {
        // Every prefix of every query, keyed by document.
        var wanted: [Int: Set<[FieldPath.Token]>] = [:]
        for query in queries {
            for length in 0...query.path.count { wanted[query.document, default: []].insert(Array(query.path.prefix(length))) }
        }
        var found: [Int: [[FieldPath.Token]: Int]] = [:]

        struct Level {
            /// The path of this collection, when it is a wanted prefix.
            var path: [FieldPath.Token]?
            var isMapping: Bool
            var index = 0
            var expectKey = true
            var key: String?
            var keyLine = 0
        }
        func advance(_ level: inout Level) {
            if level.isMapping {
                level.expectKey = true
            } else {
                level.index += 1
            }
        }

        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return [:] }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
        var event = yaml_event_t()
        var document = -1
        var stack: [Level] = []
        var documentWanted: Set<[FieldPath.Token]> = []
        loop: while yaml_parser_parse(&parser, &event) == 1 {
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            var isNode = false
            var opens: Bool?
            switch event.type {
            case YAML_STREAM_END_EVENT: break loop
            case YAML_DOCUMENT_START_EVENT:
                document += 1
                documentWanted = wanted[document] ?? []
                stack.removeAll()
            case YAML_SCALAR_EVENT, YAML_ALIAS_EVENT: isNode = true
            case YAML_SEQUENCE_START_EVENT: (isNode, opens) = (true, false)
            case YAML_MAPPING_START_EVENT: (isNode, opens) = (true, true)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                // A document without queries tracks no collections.
                guard !documentWanted.isEmpty else { continue }
                stack.removeLast()
                if let top = stack.indices.last { advance(&stack[top]) }
            default: break
            }
            guard isNode, !documentWanted.isEmpty else { continue }

            // The node's path and line, when its parent's path is wanted.
            var path: [FieldPath.Token]?
            var nodeLine = line
            if let top = stack.indices.last {
                if stack[top].isMapping && stack[top].expectKey {
                    // A key: remember it for the value that follows.
                    if event.type == YAML_SCALAR_EVENT, let value = event.data.scalar.value {
                        stack[top].key = String(
                            decoding: UnsafeBufferPointer(start: value, count: Int(event.data.scalar.length)), as: UTF8.self)
                    } else {
                        stack[top].key = nil
                    }
                    stack[top].keyLine = line
                    stack[top].expectKey = false
                    if opens != nil { stack.append(Level(path: nil, isMapping: opens!)) }
                    continue
                }
                if let parent = stack[top].path {
                    if stack[top].isMapping {
                        if let key = stack[top].key {
                            path = parent + [.key(key)]
                            nodeLine = stack[top].keyLine
                        }
                    } else {
                        path = parent + [.index(stack[top].index)]
                    }
                }
            } else {
                path = []
            }
            if let p = path, !documentWanted.contains(p) { path = nil }
            if let path { found[document, default: [:]][path] = nodeLine }
            if let opens {
                stack.append(Level(path: path, isMapping: opens))
            } else if let top = stack.indices.last {
                advance(&stack[top])
            }
        }

        var result: [LineQuery: Int] = [:]
        for query in queries {
            guard let lines = found[query.document] else { continue }
            for length in stride(from: query.path.count, through: 0, by: -1) {
                if let line = lines[Array(query.path.prefix(length))] {
                    result[query] = line
                    break
                }
            }
        }
        return result
    }
}
