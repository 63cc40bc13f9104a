/// Inclusive VF index ranges written `first-last`, as in `VfGroup.vfRange`.
public enum VFRange {
    /// The two bounds of `first-last`; nil unless both are decimal integers
    /// (an optional leading `+` is accepted, as Go's `strconv.Atoi` does).
    /// Text after a second `-` is ignored, as upstream's `strings.Split` use does.
    public static func parseBounds(_ text: Substring) -> (Int, Int)? {
        var utf8 = text.utf8[...]
        guard let first = atoi(&utf8), utf8.first == UInt8(ascii: "-") else { return nil }
        utf8 = utf8.dropFirst()
        guard let last = atoi(&utf8), utf8.isEmpty || utf8.first == UInt8(ascii: "-") else { return nil }
        return (first, last)
    }

    /// The bounds of a `VfGroup.vfRange` string.
    public static func parseBounds(_ text: String) -> (Int, Int)? {
        parseBounds(text[...])
    }

    /// Whether `index` lies in the range `text` (false when `text` is malformed).
    public static func contains(_ text: String, _ index: Int) -> Bool {
        guard let (first, last) = parseBounds(text) else { return false }
        return index >= first && index <= last
    }

    /// Whether two group ranges overlap, computed exactly as the upstream
    /// operator does (`isVFRangeOverlapping`): malformed ranges never overlap.
    public static func overlaps(_ lhs: String, _ rhs: String) -> Bool {
        guard let (s1, e1) = parseBounds(lhs), let (s2, e2) = parseBounds(rhs) else { return false }
        if s1 < s2 {
            return contains(lhs, s2) || contains(lhs, e2)
        }
        return contains(rhs, s1) || contains(rhs, e1)
    }

    /// The text form `first-last`.
    public static func format(_ first: Int, _ last: Int) -> String {
        "\(first)-\(last)"
    }

    /// Reads a decimal integer up to the next `-` or the end.
    private static func atoi(_ utf8: inout Substring.UTF8View.SubSequence) -> Int? {
        if utf8.first == UInt8(ascii: "+") { utf8 = utf8.dropFirst() }
        var value = 0
        var digits = 0
        while let c = utf8.first, c != UInt8(ascii: "-") {
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            value = a
            digits += 1
            utf8 = utf8.dropFirst()
        }
        return digits > 0 ? value : nil
    }
}
