/// How a scalar's text reads as a number under YAML 1.1, YAML 1.2 and JSON.
///
/// The parser turns only ``Kind/canonicalInteger`` and ``Kind/float`` into
/// numbers; the YAML writer quotes every string that is not
/// ``Kind/notANumber`` so that no YAML reader can take it for a number.
enum NumberSyntax {
    enum Kind: Equatable {
        /// `0`, `-12`, `1583`: decimal, no `+`, no leading zero, no `_`.
        case canonicalInteger
        /// A JSON number with a fraction or an exponent: `1.5`, `-2e3`.
        case float
        /// A number only some YAML reader sees: `007`, `+5`, `0x1f`, `1_000`,
        /// `1.`, `.5`, `190:20:30`.
        case otherNumber
        /// Not a number for any reader.
        case notANumber
    }

    static func classify(_ text: String) -> Kind {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return .notANumber }
        if isCanonicalInteger(bytes) { return .canonicalInteger }
        if isJSONFloat(bytes) { return .float }
        if isOtherNumber(bytes) { return .otherNumber }
        return .notANumber
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func isCanonicalInteger(_ b: [UInt8]) -> Bool {
        var i = 0
        if b[0] == UInt8(ascii: "-") { i = 1 }
        guard i < b.count, b[i...].allSatisfy(isDigit) else { return false }
        return b[i] != UInt8(ascii: "0") || b.count == i + 1
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?` with a fraction or an
    /// exponent.
    private static func isJSONFloat(_ b: [UInt8]) -> Bool {
        var i = 0
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, isDigit(b[i]) else { return false }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        var hasFractionOrExponent = false
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start else { return false }
            hasFractionOrExponent = true
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start else { return false }
            hasFractionOrExponent = true
        }
        return i == b.count && hasFractionOrExponent
    }

    private static func isOtherNumber(_ b: [UInt8]) -> Bool {
        var rest = b[...]
        if let first = rest.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        guard let first = rest.first else { return false }
        // 0x.., 0o.., 0b..
        if rest.count > 2, first == UInt8(ascii: "0") {
            let marker = rest[rest.startIndex + 1]
            let digits = rest.dropFirst(2)
            let hex: (UInt8) -> Bool = { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) || $0 == 0x5F }
            if marker == UInt8(ascii: "x") || marker == UInt8(ascii: "X") { return digits.allSatisfy(hex) }
            if marker == UInt8(ascii: "o") || marker == UInt8(ascii: "b") {
                return digits.allSatisfy { isDigit($0) || $0 == 0x5F }
            }
        }
        guard isDigit(first) || first == UInt8(ascii: ".") else { return false }
        if rest.contains(UInt8(ascii: ":")) { return isSexagesimal(Array(rest)) }
        // Decimal with `_`, `.` and an exponent.
        var sawDigit = false
        var sawExponent = false
        var i = rest.startIndex
        while i < rest.endIndex {
            let c = rest[i]
            if isDigit(c) {
                sawDigit = true
            } else if c == 0x5F || c == UInt8(ascii: ".") {
                if sawExponent { return false }
            } else if (c == UInt8(ascii: "e") || c == UInt8(ascii: "E")) && sawDigit && !sawExponent {
                sawExponent = true
                let next = rest.index(after: i)
                if next < rest.endIndex, rest[next] == UInt8(ascii: "+") || rest[next] == UInt8(ascii: "-") {
                    i = next
                }
            } else {
                return false
            }
            i = rest.index(after: i)
        }
        return sawDigit
    }

    /// YAML 1.1 base 60: `[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`.
    private static func isSexagesimal(_ b: [UInt8]) -> Bool {
        var parts = b.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count >= 2, let head = parts.first, let h = head.first, isDigit(h),
            head.allSatisfy({ isDigit($0) || $0 == 0x5F })
        else { return false }
        var last = parts.removeLast()
        if let dot = last.firstIndex(of: UInt8(ascii: ".")) {
            guard last[last.index(after: dot)...].allSatisfy({ isDigit($0) || $0 == 0x5F }) else { return false }
            last = last[..<dot]
        }
        parts.append(last)
        for part in parts.dropFirst() {
            guard (1...2).contains(part.count), part.allSatisfy(isDigit) else { return false }
            if part.count == 2, let f = part.first, f > UInt8(ascii: "5") { return false }
        }
        return true
    }
}
