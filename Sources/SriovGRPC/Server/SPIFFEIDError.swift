/// Why a SPIFFE ID (or a certificate that should carry one) was refused.
///
/// The offending bytes are kept, and printed only escaped: anything outside
/// printable ASCII, the quote and the backslash come out as `\xNN`, `\"` and
/// `\\`, so a crafted certificate cannot forge a log line, hide a NUL or
/// pass invalid UTF-8 on.
public struct SPIFFEIDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of rule was broken; extensible, compare with the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let empty = Code("empty")
        public static let tooLong = Code("too-long")
        public static let scheme = Code("scheme")
        public static let trustDomainEmpty = Code("trust-domain-empty")
        public static let trustDomainCharacter = Code("trust-domain-character")
        public static let userinfo = Code("userinfo")
        public static let port = Code("port")
        public static let percentEncoding = Code("percent-encoding")
        public static let query = Code("query")
        public static let fragment = Code("fragment")
        public static let pathCharacter = Code("path-character")
        public static let emptySegment = Code("empty-segment")
        public static let dotSegment = Code("dot-segment")
        public static let trailingSlash = Code("trailing-slash")
        /// Parsed, but in another trust domain than the configured one.
        public static let trustDomainMismatch = Code("trust-domain-mismatch")
        /// Parsed, but not of the form `/ROLE/NAME`.
        public static let pathShape = Code("path-shape")
        public static let unknownRole = Code("unknown-role")
        public static let invalidName = Code("invalid-name")
        /// The certificate carries no URI SAN.
        public static let noURISAN = Code("no-uri-san")
        /// The certificate carries more than one URI SAN.
        public static let multipleURISANs = Code("multiple-uri-sans")
        /// The certificate breaks an X509-SVID leaf rule (CA, key usage, EKU).
        public static let leafRules = Code("leaf-rules")
    }

    /// Longest part of the input kept in the error (and so in logs).
    static let keptInputBytes = 256

    public let code: Code
    /// What is wrong, in words (no input bytes in it unless escaped).
    public let message: String
    /// The first bytes of the refused input (at most 256).
    public let input: [UInt8]
    /// The whole input's length in bytes.
    public let inputLength: Int
    /// Byte offset of the offending character, when there is one.
    public let offset: Int?

    init(_ code: Code, _ message: String, input: some Collection<UInt8> = [UInt8](), offset: Int? = nil) {
        self.code = code
        self.message = message
        self.input = Array(input.prefix(Self.keptInputBytes))
        self.inputLength = input.count
        self.offset = offset
    }

    /// The input, escaped for logs and errors, with a length note when cut.
    public var escapedInput: String {
        var s = Self.escape(input)
        if inputLength > input.count { s += "...(\(inputLength) bytes)" }
        return s
    }

    public var description: String {
        var s = ""
        if inputLength > 0 { s += "SPIFFE ID \"\(escapedInput)\": " }
        s += message
        if let offset { s += " (byte \(offset))" }
        return s
    }

    /// `bytes` with everything but printable ASCII escaped.
    public static func escape(_ bytes: some Sequence<UInt8>) -> String {
        var s = ""
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): s += "\\\""
            case UInt8(ascii: "\\"): s += "\\\\"
            case 0x20...0x7E: s.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789abcdef")
                s += "\\x\(hex[Int(b >> 4)])\(hex[Int(b & 0xF)])"
            }
        }
        return s
    }

    /// One byte for a message: `'a'` or `\x00`.
    static func show(_ b: UInt8) -> String {
        if (0x21...0x7E).contains(b) && b != UInt8(ascii: "'") && b != UInt8(ascii: "\\") { return "'\(Unicode.Scalar(b))'" }
        let hex = Array("0123456789abcdef")
        return "\\x\(hex[Int(b >> 4)])\(hex[Int(b & 0xF)])"
    }
}
