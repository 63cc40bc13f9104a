import SriovAPI

/// JSON text exactly as Go's `encoding/json` writes it, for the artefacts the
/// upstream operator produces with it (device-plugin config, NAD CNI config).
///
/// - ``encode(_:indent:)`` follows `json.Marshal` / `Encoder.SetIndent`: keys
///   in the order given, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u00XX`.
///   The layout and numbers are SriovAPI's ``CRValue/jsonString(indentUnit:quote:)``;
///   only the string escaping (``quote(_:)``) is Go's own here.
/// - ``indent(_:indent:)`` follows `json.Indent(dst, src, "", indent)`: it
///   keeps every token as written and only re-spaces the text; `{}` and `[]`
///   stay empty on one line.
public enum GoJSON {
    /// An error for text that is not one JSON value.
    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        /// Byte offset of the problem.
        public var offset: Int
        /// What was wrong.
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Encodes a value; `indent` nil gives the compact form.
    public static func encode(_ value: CRValue, indent: String? = nil) -> String {
        value.jsonString(indentUnit: indent, quote: appendQuoted)
    }

    /// A Go-escaped JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var out = ""
        appendQuoted(s, into: &out)
        return out
    }

    /// Appends `s` as Go's `json.Marshal` writes a string: `"`, `\\`, `\n`,
    /// `\r`, `\t` escaped by name, other control characters, `<`, `>`, `&`,
    /// U+2028 and U+2029 as `\u00XX`.
    static func appendQuoted(_ s: String, into out: inout String) {
        out.append("\"")
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 }) {
            out.append(s)
            out.append("\"")
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out.append(hexEscape(scalar.value))
            default:
                if scalar.value < 0x20 {
                    out.append(hexEscape(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    /// ``appendQuoted(_:into:)`` onto UTF-8 bytes.
    static func appendQuoted(_ s: String, into out: inout [UInt8]) {
        var s = s
        let plain = s.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 }) else {
                return false
            }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if plain { return }
        var quoted = ""
        appendQuoted(s, into: &quoted)
        out.append(contentsOf: quoted.utf8)
    }

    private static func hexEscape(_ v: UInt32) -> String {
        let hex = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Re-indents JSON text as Go's `json.Indent(dst, src, "", indent)` does.
    public static func indent(_ text: String, indent: String) throws(SyntaxError) -> String {
        var reindenter = Reindenter(bytes: Array(text.utf8), indent: indent)
        try reindenter.run()
        return String(decoding: reindenter.out, as: UTF8.self)
    }

    /// Compacts JSON text as Go's `json.Compact` does (whitespace outside
    /// strings removed, tokens kept as written).
    public static func compact(_ text: String) throws(SyntaxError) -> String {
        var reindenter = Reindenter(bytes: Array(text.utf8), indent: nil)
        try reindenter.run()
        return String(decoding: reindenter.out, as: UTF8.self)
    }
}

/// A validating single pass over JSON bytes that copies tokens verbatim and
/// re-spaces structure.
private struct Reindenter {
    let bytes: [UInt8]
    let indent: [UInt8]?
    var pos = 0
    var out: [UInt8] = []

    init(bytes: [UInt8], indent: String?) {
        self.bytes = bytes
        self.indent = indent.map { Array($0.utf8) }
        out.reserveCapacity(bytes.count * 2)
    }

    mutating func run() throws(GoJSON.SyntaxError) {
        skipSpace()
        try value(depth: 0)
        skipSpace()
        if pos != bytes.count { throw fail("unexpected data after the top-level value") }
    }

    func fail(_ reason: String) -> GoJSON.SyntaxError {
        GoJSON.SyntaxError(offset: pos, reason: reason)
    }

    mutating func skipSpace() {
        while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
    }

    mutating func newline(_ depth: Int) {
        guard let indent else { return }
        out.append(0x0A)
        for _ in 0..<depth { out.append(contentsOf: indent) }
    }

    mutating func value(depth: Int) throws(GoJSON.SyntaxError) {
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): try container(depth: depth, close: UInt8(ascii: "}"), isObject: true)
        case UInt8(ascii: "["): try container(depth: depth, close: UInt8(ascii: "]"), isObject: false)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail("unexpected character")
        }
    }

    mutating func container(depth: Int, close: UInt8, isObject: Bool) throws(GoJSON.SyntaxError) {
        out.append(bytes[pos])
        pos += 1
        skipSpace()
        if pos < bytes.count, bytes[pos] == close {
            out.append(close)
            pos += 1
            return
        }
        while true {
            newline(depth + 1)
            if isObject {
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected an object key") }
                try string()
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(0x20) }
                skipSpace()
            }
            try value(depth: depth + 1)
            skipSpace()
            guard pos < bytes.count else { throw fail("unexpected end of input") }
            if bytes[pos] == UInt8(ascii: ",") {
                out.append(UInt8(ascii: ","))
                pos += 1
                skipSpace()
                continue
            }
            guard bytes[pos] == close else { throw fail("expected ',' or a closing bracket") }
            newline(depth)
            out.append(close)
            pos += 1
            return
        }
    }

    mutating func string() throws(GoJSON.SyntaxError) {
        let start = pos
        pos += 1
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\\") {
                pos += 2
                continue
            }
            if c < 0x20 { throw fail("control character in string") }
            pos += 1
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: bytes[start..<pos])
                return
            }
        }
        throw fail("unterminated string")
    }

    mutating func literal(_ word: String) throws(GoJSON.SyntaxError) {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<(pos + w.count)]) == w else {
            throw fail("invalid literal")
        }
        out.append(contentsOf: w)
        pos += w.count
    }

    mutating func number() throws(GoJSON.SyntaxError) {
        let start = pos
        let numberBytes: Set<UInt8> = Set("+-.eE0123456789".utf8)
        while pos < bytes.count, numberBytes.contains(bytes[pos]) { pos += 1 }
        let token = bytes[start..<pos]
        guard Double(String(decoding: token, as: UTF8.self)) != nil, token.last.map({ $0 >= 0x30 && $0 <= 0x39 }) == true else {
            throw fail("invalid number")
        }
        out.append(contentsOf: token)
    }
}
