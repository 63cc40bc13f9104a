/// Inclusive VF index ranges written `first-last`, as in `VfGroup.vfRange`.
public enum VFRange {
    /// The two bounds of `first-last`; nil unless both are decimal integers
    /// (an optional leading `+` is accepted, as Go's `strconv.Atoi` does).
    public static func parseBounds(_ text: Substring) -> (Int, Int)? {
        let parts = text.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, let first = atoi(parts[0]), let last = atoi(parts[1]) else { return nil }
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

    private static func atoi(_ s: Substring) -> Int? {
        var digits = s
        if digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s.first == "+" ? String(digits) : String(s))
    }
}
