/// A document that is not well-formed YAML or JSON.
///
/// Names the source (usually a file name), the zero-based document index in a
/// multi-document stream and the one-based line and column where the reader
/// stopped.
public struct CRParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the text came from, e.g. `policy.yaml` or `<stdin>`.
    public var source: String
    /// Zero-based index of the document in the stream; nil when unknown.
    public var documentIndex: Int?
    /// One-based line of the problem; nil when unknown.
    public var line: Int?
    /// One-based column of the problem; nil when unknown.
    public var column: Int?
    /// What was wrong.
    public var reason: String

    public init(source: String, documentIndex: Int? = nil, line: Int? = nil, column: Int? = nil, reason: String) {
        self.source = source
        self.documentIndex = documentIndex
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        var place = source
        if let line {
            place += ":\(line)"
            if let column { place += ":\(column)" }
        }
        if let documentIndex { place += " (document \(documentIndex))" }
        return "\(place): \(reason)"
    }
}
