/// One `nicSelector.pfNames` entry, parsed leniently as the renderer needs: an interface name with an optional
/// inclusive VF index range, `ens1f0` or `ens1f0#2-7`.
///
/// Parsing follows the upstream operator (`ParseVfRange`): the part before the
/// first `#` is the name, the part after it must be `first-last` with two
/// decimal integers. Policies reaching the renderer are already validated; the
/// parser exists so the renderer can reproduce the operator's behaviour on a
/// malformed entry (the whole policy fails on that node) without depending on
/// the API layer's validation.
struct PFNameSelector: Sendable, Hashable {
    /// The entry as written.
    public var raw: String
    /// The interface name (the part before `#`).
    public var name: String
    /// The first VF index, when a range is given.
    public var first: Int?
    /// The last VF index (inclusive), when a range is given.
    public var last: Int?

    /// Whether the entry carries a `#first-last` range.
    public var hasRange: Bool { first != nil }

    /// The name part of an entry without parsing its range: the text before the
    /// first `#`. This is what PF selection compares.
    public static func name(of raw: String) -> Substring {
        if let hash = raw.utf8.firstIndex(of: UInt8(ascii: "#")) { return raw[..<hash] }
        return raw[...]
    }

    /// Parses an entry; nil when the range part is malformed.
    public init?(_ raw: String) {
        self.raw = raw
        guard let hash = raw.utf8.firstIndex(of: UInt8(ascii: "#")) else {
            self.name = raw
            return
        }
        self.name = String(raw[..<hash])
        var rest = raw[raw.utf8.index(after: hash)...]
        // Upstream keeps only the field between the first and second '#'.
        if let second = rest.utf8.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<second] }
        guard let (first, last) = VFRange.parseBounds(rest) else { return nil }
        self.first = first
        self.last = last
    }
}
