import Yams

extension CRValue {
    /// Parses a YAML stream (one or more `---` separated documents) or one
    /// JSON document into value trees, one per non-empty document.
    ///
    /// Scalars are typed conservatively so that the text of a plain scalar can
    /// be recovered exactly (see ``resolvePlainScalar(_:)``): `1583` becomes
    /// `.int(1583)` (whose decimal text is `1583` again), while `0000:86:00.0`,
    /// `154c`, `0x10`, `007`, `on` and `yes` stay strings. Quoted and block
    /// scalars are always strings. Key order is kept; aliases are expanded;
    /// a duplicate key is an error.
    ///
    /// - Parameters:
    ///   - text: the document text.
    ///   - source: a name for errors, e.g. the file name.
    /// - Throws: ``CRParseError`` naming the source, document index and line.
    public static func parseDocuments(_ text: String, source: String) throws -> [CRValue] {
        try parseIndexedDocuments(text, source: source).map(\.value)
    }

    /// One non-empty document of a stream: its index in the stream (empty
    /// documents count), its value, and for YAML its node tree (with marks).
    struct ParsedDocument {
        var index: Int
        var value: CRValue
        var node: Node?
    }

    static func parseIndexedDocuments(_ text: String, source: String) throws -> [ParsedDocument] {
        let trimmed = text.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{FEFF}" }
        if let first = trimmed.first, first == "{" || first == "[" {
            do {
                let value = try JSONReader.parse(text, source: source)
                // JSON is YAML too: take the node tree for line numbers when
                // libyaml reads it.
                let node = try? Parser(yaml: text).singleRoot()
                return [ParsedDocument(index: 0, value: value, node: node)]
            } catch let jsonError as CRParseError {
                // A YAML flow collection also starts with a bracket; only when
                // both readers fail is the text reported as bad JSON.
                if let documents = try? parseYAML(text, source: source) { return documents }
                throw jsonError
            }
        }
        return try parseYAML(text, source: source)
    }

    /// Parses exactly one document; an empty stream or several documents are
    /// errors.
    public static func parseDocument(_ text: String, source: String) throws -> CRValue {
        let documents = try parseDocuments(text, source: source)
        guard documents.count == 1 else {
            throw CRParseError(source: source, reason: "expected exactly one document, found \(documents.count)")
        }
        return documents[0]
    }

    static func parseYAML(_ text: String, source: String) throws -> [ParsedDocument] {
        var documents: [ParsedDocument] = []
        var index = 0
        do {
            // Drive the parser directly: `compose_all`'s sequence stops
            // silently at a syntax error.
            let parser = try Parser(yaml: text)
            while let node = try parser.nextRoot() {
                let value = try CRValue(yamlNode: node, source: source, documentIndex: index)
                if value != .null { documents.append(ParsedDocument(index: index, value: value, node: node)) }
                index += 1
            }
        } catch let error as CRParseError {
            throw error
        } catch let error as YamlError {
            throw CRParseError(yamlError: error, source: source, documentIndex: index)
        }
        return documents
    }

    init(yamlNode node: Node, source: String, documentIndex: Int) throws {
        switch node {
        case .scalar(let scalar):
            if scalar.tag.description == "tag:yaml.org,2002:str" {
                // An explicit `!!str` keeps even `123` a string.
                self = .string(scalar.string)
            } else if scalar.style == .plain || scalar.style == .any {
                self = CRValue.resolvePlainScalar(scalar.string)
            } else {
                self = .string(scalar.string)
            }
        case .sequence(let sequence):
            self = .array(try sequence.map { try CRValue(yamlNode: $0, source: source, documentIndex: documentIndex) })
        case .mapping(let mapping):
            var pairs: [(key: String, value: CRValue)] = []
            var seen: Set<String> = []
            for (keyNode, valueNode) in mapping {
                let key: String
                switch keyNode {
                case .scalar(let scalar): key = scalar.string
                default:
                    throw CRParseError(
                        source: source, documentIndex: documentIndex, line: keyNode.mark?.line,
                        column: keyNode.mark?.column, reason: "a mapping key must be a scalar")
                }
                guard seen.insert(key).inserted else {
                    throw CRParseError(
                        source: source, documentIndex: documentIndex, line: keyNode.mark?.line,
                        column: keyNode.mark?.column, reason: "duplicate key \"\(key)\"")
                }
                pairs.append((key, try CRValue(yamlNode: valueNode, source: source, documentIndex: documentIndex)))
            }
            self = .object(pairs)
        case .alias(let alias):
            throw CRParseError(
                source: source, documentIndex: documentIndex, line: alias.mark?.line, column: alias.mark?.column,
                reason: "unresolved alias")
        }
    }

    /// The value of a plain (unquoted) YAML scalar.
    ///
    /// - `null`, `Null`, `NULL`, `~` and the empty scalar are null;
    /// - `true`/`True`/`TRUE`/`false`/`False`/`FALSE` are booleans (the YAML
    ///   1.1 words `yes`, `no`, `on`, `off` stay strings, so `spoofChk: on`
    ///   reads as the string `on`);
    /// - a decimal integer in canonical form (`0`, `-12`, `1583`; no sign `+`,
    ///   no leading zero, no `_`) that fits in 64 bits is an integer;
    /// - a JSON-style number with a fraction or exponent, or `.inf`/`.nan`, is
    ///   a double;
    /// - everything else is a string, exactly as written.
    public static func resolvePlainScalar(_ text: String) -> CRValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        switch NumberSyntax.classify(text) {
        case .canonicalInteger:
            if let value = Int64(text) { return .int(value) }
            return .string(text)
        case .float:
            if let value = Double(text) { return .double(value) }
            return .string(text)
        case .otherNumber, .notANumber:
            return .string(text)
        }
    }
}

extension CRParseError {
    init(yamlError: YamlError, source: String, documentIndex: Int) {
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var reason = problem
            if let context { reason = "\(context.text) \(problem)".trimmingSpaces }
            self.init(source: source, documentIndex: documentIndex, line: mark.line, column: mark.column, reason: reason)
        case .reader(let problem, _, _, _):
            self.init(source: source, documentIndex: documentIndex, reason: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            self.init(
                source: source, documentIndex: documentIndex, line: context.mark.line, column: context.mark.column,
                reason: duplicates.map { "duplicate key \"\($0)\"" }.joined(separator: ", "))
        default:
            self.init(source: source, documentIndex: documentIndex, reason: "\(yamlError)")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
