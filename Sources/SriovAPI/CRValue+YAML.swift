extension CRValue {
    /// The value as block-style YAML, the way `kubectl get -o yaml` lays it
    /// out, ending with a newline.
    ///
    /// - Mappings: `key: value`, nested blocks indented by two spaces; keys in
    ///   the value's order.
    /// - Sequences under a key are not indented (`key:` then `- item` at the
    ///   key's column); a mapping item starts on the dash line.
    /// - Empty containers are `{}` and `[]`.
    /// - A string is plain when every YAML 1.1 and 1.2 reader gives back the
    ///   same string (so `0000:86:00.0` and `intel_nics_1` stay plain while
    ///   `"1583"`, `"on"`, `"true"`, `"0x10"` and `""` are quoted). A
    ///   multi-line string is a literal block (`|-`, `|` or `|+` depending on
    ///   its trailing newlines) when that is exact; otherwise, and for every
    ///   other string that needs it, a double-quoted scalar with escapes.
    public func yamlString() -> String {
        var out = ""
        writeYAML(to: &out)
        return out
    }

    /// Hands what ``yamlString()`` returns to `emit` in pieces of about
    /// `chunkSize` bytes (the last one shorter), so that a large document (a
    /// render of a whole fleet, about 1 GB) need never be one string.
    public func writeYAML(chunkSize: Int = 1 << 16, _ emit: (String) -> Void) {
        withoutActuallyEscaping(emit) { emit in
            var sink = ChunkedText(chunkSize: chunkSize, emit: emit)
            writeYAML(to: &sink)
            sink.flush()
        }
    }

    /// Writes `CRCodec.list(items).yamlString()` where item `i` is
    /// `item(i)`, making and dropping one item at a time, in chunks of about
    /// `chunkSize` bytes handed to `emit`.
    public static func writeYAMLList(count: Int, item: (Int) -> CRValue, chunkSize: Int = 1 << 16, _ emit: (String) -> Void) {
        withoutActuallyEscaping(emit) { emit in
            var sink = ChunkedText(chunkSize: chunkSize, emit: emit)
            // The List's fields in CRCodec.list's order; `items` item by item,
            // each written as a one-item sequence (which is how the whole
            // sequence writes it).
            guard case .object(let pairs) = CRCodec.list([]) else { return }
            for pair in pairs {
                if pair.key == "items" && count > 0 {
                    sink.write("items:\n")
                    for i in 0..<count {
                        writeYAMLBlock(.array([item(i)]), indent: 0, firstLineIndented: true, into: &sink)
                    }
                } else {
                    writeYAMLBlock(.object([pair]), indent: 0, firstLineIndented: true, into: &sink)
                }
            }
            sink.flush()
        }
    }

    func writeYAML(to out: inout some TextOutputStream) {
        switch self {
        case .object(let pairs) where !pairs.isEmpty:
            CRValue.writeYAMLBlock(self, indent: 0, firstLineIndented: true, into: &out)
        case .array(let items) where !items.isEmpty:
            CRValue.writeYAMLBlock(self, indent: 0, firstLineIndented: true, into: &out)
        default:
            out.write(CRValue.yamlScalar(self, contentIndent: 0))
            out.write("\n")
        }
    }

    private static func spaces(_ n: Int) -> String { String(repeating: " ", count: n) }

    /// Writes a non-empty mapping or sequence whose lines start at `indent`.
    /// With `firstLineIndented` false the first line continues a `- ` prefix.
    static func writeYAMLBlock(_ value: CRValue, indent: Int, firstLineIndented: Bool, into out: inout some TextOutputStream) {
        switch value {
        case .object(let pairs):
            for (i, pair) in pairs.enumerated() {
                if i > 0 || firstLineIndented { out.write(spaces(indent)) }
                out.write(yamlKey(pair.key))
                out.write(":")
                switch pair.value {
                case .object(let inner) where !inner.isEmpty:
                    out.write("\n")
                    writeYAMLBlock(pair.value, indent: indent + 2, firstLineIndented: true, into: &out)
                case .array(let inner) where !inner.isEmpty:
                    out.write("\n")
                    writeYAMLBlock(pair.value, indent: indent, firstLineIndented: true, into: &out)
                default:
                    out.write(" ")
                    out.write(yamlScalar(pair.value, contentIndent: indent + 2))
                    out.write("\n")
                }
            }
        case .array(let items):
            for (i, item) in items.enumerated() {
                if i > 0 || firstLineIndented { out.write(spaces(indent)) }
                out.write("-")
                switch item {
                case .object(let inner) where !inner.isEmpty:
                    out.write(" ")
                    writeYAMLBlock(item, indent: indent + 2, firstLineIndented: false, into: &out)
                case .array(let inner) where !inner.isEmpty:
                    out.write(" ")
                    writeYAMLBlock(item, indent: indent + 2, firstLineIndented: false, into: &out)
                default:
                    out.write(" ")
                    out.write(yamlScalar(item, contentIndent: indent + 2))
                    out.write("\n")
                }
            }
        default:
            out.write(spaces(indent))
            out.write(yamlScalar(value, contentIndent: indent))
            out.write("\n")
        }
    }

    static func yamlKey(_ key: String) -> String {
        isPlainSafe(key) ? key : yamlDoubleQuoted(key)
    }

    /// A scalar or empty container on one line; a literal block continues on
    /// the following lines at `contentIndent`.
    static func yamlScalar(_ value: CRValue, contentIndent: Int) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            if d.isNaN { return ".nan" }
            if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
            let text = goFloatText(d) ?? ".nan"
            // Keep a float a float for readers that would take `100` as an int.
            return NumberSyntax.classify(text) == .canonicalInteger ? text + ".0" : text
        case .string(let s):
            if isPlainSafe(s) { return s }
            if let block = literalBlock(s, indent: contentIndent) { return block }
            return yamlDoubleQuoted(s)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    /// Words some YAML reader (1.1 or 1.2) turns into a null, a bool, a
    /// special float or a merge key.
    private static let reservedWords: Set<String> = [
        "~", "null", "Null", "NULL",
        "true", "True", "TRUE", "false", "False", "FALSE",
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ".nan", ".NaN", ".NAN", "<<", "=",
    ]

    /// Whether `s` can be written as a plain scalar and read back unchanged
    /// by YAML 1.1 and 1.2 readers.
    static func isPlainSafe(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, let last = s.unicodeScalars.last else { return false }
        if reservedWords.contains(s) { return false }
        if NumberSyntax.classify(s) != .notANumber { return false }
        if "-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first) { return false }
        if first == " " || last == " " || last == ":" { return false }
        if s.contains(": ") || s.contains(" #") { return false }
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF
            {
                return false
            }
        }
        // A date or timestamp (YAML 1.1 `!!timestamp`): `2019-05-21...`.
        let head = Array(s.utf8.prefix(5))
        if head.count == 5, head[0..<4].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), head[4] == UInt8(ascii: "-") {
            return false
        }
        return true
    }

    /// A literal block scalar for a multi-line string, or nil when a literal
    /// block could not carry it exactly.
    static func literalBlock(_ s: String, indent: Int) -> String? {
        guard s.contains("\n") else { return nil }
        for scalar in s.unicodeScalars {
            if scalar == "\n" || scalar == "\t" { continue }
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0xFEFF
            {
                return nil
            }
        }
        var lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        var trailingNewlines = 0
        while let l = lines.last, l.isEmpty, lines.count > 1 {
            lines.removeLast()
            trailingNewlines += 1
        }
        // Lines whose indentation would be taken for the block's own, or a
        // string made of newlines only, need an indentation indicator: quote.
        guard let firstContent = lines.first(where: { !$0.isEmpty }),
            let c = firstContent.first, c != " ", c != "\t"
        else { return nil }
        // Keep the empty line that the last split left when there is more
        // than one trailing newline.
        for _ in 1..<max(1, trailingNewlines) { lines.append("") }
        let header = trailingNewlines == 0 ? "|-" : trailingNewlines == 1 ? "|" : "|+"
        var out = header
        let pad = spaces(indent)
        for line in lines {
            out.append("\n")
            if !line.isEmpty {
                out.append(pad)
                out.append(contentsOf: line)
            }
        }
        return out
    }

    /// `s` double-quoted for a message, cut to its first `limit` characters:
    /// `"aaaa…" (104857600 bytes)` for a longer one.
    static func quotedPrefix(_ s: String, limit: Int) -> String {
        if s.utf8.count <= limit { return yamlDoubleQuoted(s) }
        var prefix = ""
        var count = 0
        for c in s {
            if count == limit { break }
            prefix.append(c)
            count += 1
        }
        if count < limit || prefix.utf8.count == s.utf8.count { return yamlDoubleQuoted(s) }
        return yamlDoubleQuoted(prefix) + "… (\(s.utf8.count) bytes)"
    }

    /// A YAML double-quoted scalar.
    static func yamlDoubleQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\0": out.append("\\0")
            case "\u{85}": out.append("\\N")
            case "\u{A0}": out.append("\\_")
            case "\u{2028}": out.append("\\L")
            case "\u{2029}": out.append("\\P")
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                    || scalar.value == 0xFEFF
                {
                    let hex = String(scalar.value, radix: 16)
                    if scalar.value <= 0xFF {
                        out.append("\\x" + String(repeating: "0", count: 2 - hex.count) + hex)
                    } else {
                        out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
        return out
    }
}

/// Text gathered into chunks of about `chunkSize` bytes, each handed on.
struct ChunkedText: TextOutputStream {
    let chunkSize: Int
    let emit: (String) -> Void
    private var buffer = ""

    init(chunkSize: Int, emit: @escaping (String) -> Void) {
        self.chunkSize = chunkSize
        self.emit = emit
        buffer.reserveCapacity(chunkSize + 1024)
    }

    mutating func write(_ string: String) {
        buffer.append(string)
        if buffer.utf8.count >= chunkSize { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        emit(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
