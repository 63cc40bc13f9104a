extension CRValue {
    /// Parses a YAML stream (one or more `---` separated documents) or one
    /// JSON document into value trees, one per non-empty document.
    ///
    /// Scalars are typed conservatively so that the text of a plain scalar is
    /// never rewritten (see ``resolvePlainScalar(_:)``): `1583` becomes
    /// `.int(1583)` (whose decimal text is `1583` again), `1.5` a double,
    /// while `0000:86:00.0`, `154c`, `14e4`, `0x10`, `007`, `on` and `yes`
    /// stay strings. Quoted and block scalars are always strings. Key order
    /// is kept; aliases are expanded within ``DecodeLimits``; a duplicate key
    /// is an error.
    ///
    /// Text starting with `{` or `[` is read as JSON; when it is not JSON but
    /// is a YAML flow document (single quotes, trailing commas, plain keys),
    /// it is read as YAML, under the same limits. When it is neither, the
    /// error gives both readers' reasons.
    ///
    /// - Parameters:
    ///   - text: the document text.
    ///   - source: a name for errors, e.g. the file name.
    ///   - limits: the bounds on the work (``DecodeLimits/defaults``).
    /// - Throws: ``CRParseError`` naming the source, document index and line.
    public static func parseDocuments(
        _ text: String, source: String, limits: DecodeLimits = .defaults
    ) throws -> [CRValue] {
        try withUTF8(text) { try parseIndexedDocuments($0, source: source, limits: limits) }.map(\.value)
    }

    /// Parses UTF-8 bytes (a file's contents) as ``parseDocuments(_:source:limits:)``
    /// does; invalid UTF-8 is an error naming its line, column and byte offset.
    public static func parseDocuments(
        utf8 bytes: [UInt8], source: String, limits: DecodeLimits = .defaults
    ) throws -> [CRValue] {
        try bytes.withUnsafeBufferPointer { try parseIndexedDocuments($0, source: source, limits: limits) }.map(\.value)
    }

    /// Calls `body` with the UTF-8 bytes of `text`, without a copy when the
    /// string is stored contiguously.
    static func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var text = text
        return try text.withUTF8(body)
    }

    /// One non-empty document of a stream: its index in the stream (empty
    /// documents count) and its value.
    struct ParsedDocument {
        var index: Int
        var value: CRValue
    }

    static func parseIndexedDocuments(
        _ bytes: UnsafeBufferPointer<UInt8>, source: String, limits: DecodeLimits
    ) throws(CRParseError) -> [ParsedDocument] {
        guard bytes.count <= limits.maxInputBytes else {
            throw CRParseError(
                source: source,
                reason: "input of \(ByteCount.text(bytes.count)) is larger than the limit of \(ByteCount.text(limits.maxInputBytes))")
        }
        if let bad = UTF8Check.firstInvalidOffset(bytes) {
            let (line, column) = UTF8Check.position(of: bad, in: bytes)
            throw CRParseError(
                source: source, line: line, column: column,
                reason: "invalid UTF-8 at byte offset \(bad) (byte 0x\(String(bytes[bad], radix: 16))); the input must be UTF-8 text")
        }
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        if start < bytes.count, bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[") {
            let jsonError: CRParseError
            do {
                let value = try JSONReader.parse(bytes, source: source, limits: limits)
                return [ParsedDocument(index: 0, value: value)]
            } catch {
                if error.isLimit { throw error.error }
                jsonError = error.error
            }
            // A YAML flow collection also starts with a bracket.
            do {
                return try YAMLReader.parse(bytes, source: source, limits: limits)
            } catch {
                var both = jsonError
                var yamlPlace = ""
                if let line = error.line { yamlPlace = " at \(line):\(error.column ?? 1)" }
                both.reason += "; as YAML\(yamlPlace): \(error.reason)"
                throw both
            }
        }
        return try YAMLReader.parse(bytes, source: source, limits: limits)
    }

    /// Parses exactly one document; an empty stream or several documents are
    /// errors.
    public static func parseDocument(_ text: String, source: String, limits: DecodeLimits = .defaults) throws -> CRValue {
        let documents = try parseDocuments(text, source: source, limits: limits)
        guard documents.count == 1 else {
            throw CRParseError(source: source, reason: "expected exactly one document, found \(documents.count)")
        }
        return documents[0]
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
            if text.utf8.contains(UInt8(ascii: ".")), let value = Double(text) { return .double(value) }
            return .string(text)
        case .otherNumber, .notANumber:
            return .string(text)
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

/// Finds invalid UTF-8 in input bytes, so that the error can say where.
enum UTF8Check {
    /// The byte offset of the first invalid UTF-8 sequence, or nil.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        // ASCII fast path; the decoder only where a byte has its top bit set.
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let length: Int
            let lowest: UInt32
            switch b {
            case 0xC2...0xDF: (length, lowest) = (2, 0x80)
            case 0xE0...0xEF: (length, lowest) = (3, 0x800)
            case 0xF0...0xF4: (length, lowest) = (4, 0x10000)
            default: return i
            }
            guard i + length <= n else { return i }
            var scalar = UInt32(b) & (0xFF >> (length + 1))
            for k in 1..<length {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(c & 0x3F)
            }
            guard scalar >= lowest, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return i }
            i += length
        }
        return nil
    }

    /// The one-based line and column (in characters) of a byte offset.
    static func position(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for b in bytes[..<min(offset, bytes.count)] {
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}
