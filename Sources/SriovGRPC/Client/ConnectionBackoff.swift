/// gRPC's connection backoff: the first retry after 1 s, each next one 1.6
/// times longer with ±20 % jitter, capped at 120 s; every attempt may take
/// at least 20 s to connect.
public struct ConnectionBackoff: Sendable, Hashable {
    public var initial: Duration = .seconds(1)
    public var multiplier = 1.6
    public var jitter = 0.2
    public var maximum: Duration = .seconds(120)
    public var minConnectTimeout: Duration = .seconds(20)

    public init() {}

    public static var defaults: Self { Self() }

    /// The un-jittered delay before attempt `n` (0-based: attempt 0 is
    /// immediate, attempt 1 waits `initial`).
    public func baseDelay(attempt n: Int) -> Duration {
        guard n > 0 else { return .zero }
        var seconds = initial.seconds
        for _ in 1..<n {
            seconds = min(seconds * multiplier, maximum.seconds)
        }
        return .seconds(min(seconds, maximum.seconds))
    }

    /// The delay before attempt `n` with jitter drawn from `random`.
    public func delay(attempt n: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let base = baseDelay(attempt: n).seconds
        guard base > 0 else { return .zero }
        let factor = 1 + Double.random(in: -jitter...jitter, using: &random)
        return .seconds(base * factor)
    }

    /// How long attempt `n` may take to connect: the larger of the minimum
    /// connect timeout and the backoff delay.
    public func connectTimeout(attempt n: Int) -> Duration {
        max(minConnectTimeout, baseDelay(attempt: n + 1))
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
