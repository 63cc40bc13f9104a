/// The `grpc-timeout` header: at most eight ASCII digits and a unit
/// (`H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` micro, `n` nano).
public struct GRPCTimeout: Sendable, Hashable, CustomStringConvertible {
    /// The timeout in nanoseconds.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = max(0, nanoseconds) }

    public init(_ duration: Duration) {
        let (s, atto) = duration.components
        let ns = s.multipliedReportingOverflow(by: 1_000_000_000)
        self.init(nanoseconds: ns.overflow ? Int64.max : ns.partialValue &+ atto / 1_000_000_000)
    }

    public var duration: Duration { .nanoseconds(nanoseconds) }

    /// Parses a header value.
    ///
    /// - Throws: ``HeaderValidationError`` naming what is accepted.
    public init(headerValue: some StringProtocol) throws {
        let bytes = Array(headerValue.utf8)
        let bad = HeaderValidationError(
            header: "grpc-timeout", value: String(headerValue),
            accepted: "1 to 8 digits followed by one of H M S m u n")
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last else { throw bad }
        var value: Int64 = 0
        for c in bytes.dropLast() {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { throw bad }
            value = value * 10 + Int64(c - UInt8(ascii: "0"))
        }
        let factor: Int64
        switch unit {
        case UInt8(ascii: "H"): factor = 3_600_000_000_000
        case UInt8(ascii: "M"): factor = 60_000_000_000
        case UInt8(ascii: "S"): factor = 1_000_000_000
        case UInt8(ascii: "m"): factor = 1_000_000
        case UInt8(ascii: "u"): factor = 1_000
        case UInt8(ascii: "n"): factor = 1
        default: throw bad
        }
        let r = value.multipliedReportingOverflow(by: factor)
        self.init(nanoseconds: r.overflow ? Int64.max : r.partialValue)
    }

    /// The header value: the finest unit whose amount fits in eight digits,
    /// rounding up so that the peer never sees a shorter timeout.
    public var headerValue: String {
        let units: [(Int64, Character)] = [
            (1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"), (60_000_000_000, "M"),
            (3_600_000_000_000, "H"),
        ]
        for (factor, unit) in units {
            let amount = nanoseconds / factor + (nanoseconds % factor == 0 ? 0 : 1)
            if amount <= 99_999_999 { return "\(amount)\(unit)" }
        }
        return "99999999H"
    }

    public var description: String { headerValue }
}
