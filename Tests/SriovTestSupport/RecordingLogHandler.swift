import Logging
import SriovSync

/// A log handler that keeps messages, to check what the server logged.
public struct RecordingLogHandler: LogHandler {
    public let box: Box
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(box: Box) { self.box = box }

    public final class Box: Sendable {
        public let lines = Locked<[String]>([])
        public init() {}
        public var all: [String] { lines.withLock { $0 } }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let message = event.message
        let md = (event.metadata ?? [:]).map { "\($0)=\($1)" }.sorted().joined(separator: " ")
        box.lines.withLock { $0.append("\(message) \(md)") }
    }
}
