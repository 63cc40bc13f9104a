/// Bytes that are not a valid encoding of the expected message.
public struct ProtobufDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        /// The input ends in the middle of a field.
        public static let truncated = Code("truncated")
        /// A field has a wire type its schema type cannot have.
        public static let wrongWireType = Code("wrongWireType")
        /// A field number the schema does not know (strict decoding only).
        public static let unknownField = Code("unknownField")
        /// Field number 0, a reserved wire type, an overlong varint, or another
        /// structural error.
        public static let malformed = Code("malformed")
        /// A string field holds invalid UTF-8 or a NUL byte.
        public static let invalidString = Code("invalidString")
        /// Messages nested deeper than the limit.
        public static let tooDeep = Code("tooDeep")
        public var description: String { rawValue }
    }

    public var code: Code
    /// The top-level message being decoded, e.g. `sriov.v1.SriovNetworkNodePolicy`.
    public var messageName: String
    /// Dotted path of the field inside it, e.g. `spec.nic_selector.vendor`; empty
    /// for the message itself.
    public var fieldPath: String
    /// Byte offset in the input where the problem starts, when known.
    public var offset: Int?
    /// What exactly is wrong.
    public var detail: String

    public init(code: Code, messageName: String, fieldPath: String, offset: Int?, detail: String) {
        self.code = code
        self.messageName = messageName
        self.fieldPath = fieldPath
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        var text = "cannot decode \(messageName)"
        if !fieldPath.isEmpty { text += " field \(fieldPath)" }
        if let offset { text += " at byte \(offset)" }
        return text + ": " + detail
    }
}
