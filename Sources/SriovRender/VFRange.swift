/// Inclusive VF index ranges written `first-last`, as in `VfGroup.vfRange`.
public enum VFRange {
    /// The two bounds of `first-last`; nil unless both are decimal integers
    /// (an optional leading `+` is accepted, as Go's `strconv.Atoi` does).
    /// Text after a second `-` is ignored, as upstream's `strings.Split` use does.
    public static func parseBounds(_ text: Substring) -> (Int, Int)? {
        parseBounds(utf8: text.utf8)
    }

    /// The bounds of a `VfGroup.vfRange` string.
    public static func parseBounds(_ text: String) -> (Int, Int)? {
        parseBounds(utf8: text.utf8)
    }

    /// Whether `index` lies in the range `text` (false when `text` is malformed).
    public static func contains(_ text: String, _ index: Int) -> Bool {
        guard let (first, last) = parseBounds(text) else { return false }
        return index >= first && index <= last
    }

    /// Whether two group ranges overlap, computed exactly as the upstream
    /// operator does (`isVFRangeOverlapping`): malformed ranges never overlap.
    public static func overlaps(_ lhs: String, _ rhs: String) -> Bool {
        overlaps(parseBounds(lhs), parseBounds(rhs))
    }

    /// ``overlaps(_:_:)-(String,String)`` on ranges already parsed (nil for
    /// a malformed one).
    static func overlaps(_ lhs: (Int, Int)?, _ rhs: (Int, Int)?) -> Bool {
        guard let (s1, e1) = lhs, let (s2, e2) = rhs else { return false }
        // Upstream parses each side again for its containment checks; the
        // bounds are the same.
        if s1 < s2 {
            return (s2 >= s1 && s2 <= e1) || (e2 >= s1 && e2 <= e1)
        }
        return (s1 >= s2 && s1 <= e2) || (e1 >= s2 && e1 <= e2)
    }

    /// The text form `first-last`.
    public static func format(_ first: Int, _ last: Int) -> String {
        "\(first)-\(last)"
    }

    /// `first-last` in one pass over the bytes: each bound an optional `+` and
    /// decimal digits up to the next `-` or the end, without overflow; after
    /// the second bound only the end or a `-` (and whatever follows it).
    private static func parseBounds(utf8: some Sequence<UInt8>) -> (Int, Int)? {
        var first = 0
        var inLast = false
        var value = 0
        var digits = 0
        var signed = false
        for c in utf8 {
            if c == UInt8(ascii: "-") {
                guard digits > 0 else { return nil }
                if inLast { return (first, value) }
                first = value
                inLast = true
                value = 0
                digits = 0
                signed = false
            } else if c == UInt8(ascii: "+") && digits == 0 && !signed {
                signed = true
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
                guard !o1 && !o2 else { return nil }
                value = a
                digits += 1
            } else {
                return nil
            }
        }
        guard inLast && digits > 0 else { return nil }
        return (first, value)
    }
}
