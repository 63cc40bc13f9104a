import Dispatch
import Glibc

/// Delivers signals as an async stream, for the long-running programs
/// (controller, agent, mirror) to stop cleanly on SIGTERM/SIGINT and reload
/// on SIGHUP. The signals' default handlers are disabled.
///
/// `nonisolated(unsafe)` on `sources`: set once in `init` and only kept
/// alive (never read) afterwards.
public final class SignalWatcher: Sendable {
    /// The signals as they arrive.
    public let stream: AsyncStream<Int32>
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    public init(_ signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for s in signals {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { continuation.yield(s) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}
