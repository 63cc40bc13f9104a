/// One problem with one field of one object: what decoding and validation
/// report.
///
/// The description reads like
/// `SriovNetworkNodePolicy "policy-1": spec.numVfs: invalid value 0: must be at least 1`.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem; extensible.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A key the schema does not know (strict decoding).
        public static let unknownField = Code(rawValue: "unknownField")
        /// A value of the wrong JSON type (a string for an integer, ...).
        public static let wrongType = Code(rawValue: "wrongType")
        /// A required field is absent or empty.
        public static let required = Code(rawValue: "required")
        /// A value outside the accepted range or set, or with bad syntax.
        public static let invalid = Code(rawValue: "invalid")
        /// Fields that must not be set together.
        public static let forbidden = Code(rawValue: "forbidden")
    }

    public var code: Code
    /// The object's kind, e.g. `SriovNetworkNodePolicy`.
    public var kind: String
    /// The object's `metadata.name`; empty when unknown.
    public var name: String
    /// The field path, e.g. `spec.nicSelector.pfNames[1]`.
    public var path: String
    /// The offending value as text; nil when the field is absent.
    public var value: String?
    /// What is wrong and what would be accepted.
    public var message: String
    /// Where the object came from (`policy.yaml (document 1)`); nil when not
    /// read from text.
    public var location: String?
    /// One-based line of the field in that text, when known.
    public var line: Int?

    public init(
        code: Code, kind: String, name: String, path: String, value: String?, message: String,
        location: String? = nil
    ) {
        self.code = code
        self.kind = kind
        self.name = name
        self.path = path
        self.value = value
        self.message = message
        self.location = location
    }

    public var description: String {
        var s = ""
        if let location {
            s += location
            if let line { s += ", line \(line)" }
            s += ": "
        }
        s += kind.isEmpty ? "object" : kind
        if !name.isEmpty { s += name.utf8.count <= 64 ? " \"\(name)\"" : " " + FieldReader.quote(name) }
        s += ": \(path.isEmpty ? "<root>" : path): "
        if let value { s += "invalid value \(value): " }
        s += message
        return s
    }
}

/// Every problem found in one or more objects, reported together.
///
/// At most ``DecodeLimits/maxErrors`` errors are kept; ``omitted`` counts the
/// others, and the description ends with "and N more".
public struct FieldErrorList: Error, Hashable, Sendable, CustomStringConvertible {
    public var errors: [FieldError]
    /// Errors found but not kept.
    public var omitted: Int

    public init(_ errors: [FieldError], omitted: Int = 0) {
        self.errors = errors
        self.omitted = omitted
    }

    /// Every error found, kept or not.
    public var totalCount: Int { errors.count + omitted }

    /// The errors as lines, the last one saying how many were left out.
    public var lines: [String] {
        errors.map(\.description) + (omitted > 0 ? ["and \(omitted) more errors"] : [])
    }

    public var description: String {
        if errors.count == 1 && omitted == 0 { return errors[0].description }
        return "\(totalCount) errors:\n" + lines.map { "  - \($0)" }.joined(separator: "\n")
    }
}
