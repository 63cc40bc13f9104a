/// One `nicSelector.pfNames` entry: an interface name, optionally with an
/// inclusive VF index range: `ens1f0` or `ens1f0#2-7`.
public struct PfNameSelector: Hashable, Sendable, CustomStringConvertible {
    /// The interface name (or altname) before `#`.
    public var name: String
    /// The VF indices after `#`, when given.
    public var range: ClosedRange<Int>?

    public init(name: String, range: ClosedRange<Int>? = nil) {
        self.name = name
        self.range = range
    }

    /// Why an entry does not parse.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var entry: String
        public var reason: String
        public var description: String { "pfNames entry \"\(entry)\": \(reason)" }
    }

    /// Parses `name` or `name#first-last`: at most one `#`, a non-empty name,
    /// and two decimal integers with first ≤ last.
    public static func parse(_ text: String) throws(ParseError) -> PfNameSelector {
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        guard let name = parts.first, !name.isEmpty else {
            throw ParseError(entry: text, reason: "the interface name is empty; accepted: name or name#first-last")
        }
        switch parts.count {
        case 1:
            return PfNameSelector(name: String(name))
        case 2:
            guard let range = Syntax.parseVFRange(parts[1]) else {
                throw ParseError(
                    entry: text,
                    reason: "the VF range \"\(parts[1])\" is not first-last with two integers and first <= last")
            }
            return PfNameSelector(name: String(name), range: range)
        default:
            throw ParseError(entry: text, reason: "more than one '#'; accepted: name or name#first-last")
        }
    }

    /// `name` or `name#first-last`.
    public var description: String {
        guard let range else { return name }
        return "\(name)#\(range.lowerBound)-\(range.upperBound)"
    }
}
