/// Cloud network filters, `openstack/NetworkID:<uuid>` or `aws/NetworkID:<id>`.
enum NetFilter {
    /// Whether a policy's netFilter matches a PF's reported netFilter, as the
    /// upstream operator's `NetFilterMatch` does: both must parse as
    /// `key:value` and key and value must be equal.
    static func matches(_ filter: String, _ value: String) -> Bool {
        guard let a = parse(filter), let b = parse(value) else { return false }
        return a == b
    }

    /// The first `key:value` found at the start of a line, with the key taking
    /// as much of a non-blank run as it can (the greedy `^\s*(\S+)\s*:\s*(\S+)`).
    static func parse(_ text: String) -> KeyValue? {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let kv = parseLine(Array(line.unicodeScalars)) { return kv }
        }
        return nil
    }

    struct KeyValue: Equatable {
        var key: String
        var value: String
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\r" || c == "\u{0B}" || c == "\u{0C}"
    }

    private static func parseLine(_ s: [Unicode.Scalar]) -> KeyValue? {
        var i = 0
        while i < s.count, isSpace(s[i]) { i += 1 }
        let runStart = i
        while i < s.count, !isSpace(s[i]) { i += 1 }
        let runEnd = i
        guard runEnd > runStart else { return nil }
        func text(_ a: Int, _ b: Int) -> String {
            var out = String.UnicodeScalarView()
            out.append(contentsOf: s[a..<b])
            return String(out)
        }
        func valueRun(from start: Int) -> (Int, Int)? {
            var j = start
            while j < s.count, isSpace(s[j]) { j += 1 }
            let vs = j
            while j < s.count, !isSpace(s[j]) { j += 1 }
            return j > vs ? (vs, j) : nil
        }
        // Longest key first: the whole run, then shorter prefixes ending before a ':'.
        var j = runEnd
        while j < s.count, isSpace(s[j]) { j += 1 }
        if j < s.count, s[j] == ":", let (vs, ve) = valueRun(from: j + 1) {
            return KeyValue(key: text(runStart, runEnd), value: text(vs, ve))
        }
        var k = runEnd - 1
        while k > runStart {
            if s[k] == ":" {
                if k + 1 < runEnd {
                    return KeyValue(key: text(runStart, k), value: text(k + 1, runEnd))
                }
                if let (vs, ve) = valueRun(from: k + 1) {
                    return KeyValue(key: text(runStart, k), value: text(vs, ve))
                }
            }
            k -= 1
        }
        return nil
    }
}
