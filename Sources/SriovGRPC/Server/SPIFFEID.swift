/// A SPIFFE ID checked by the rules of the SPIFFE-ID specification:
/// `spiffe://TRUST-DOMAIN/SEGMENT/...`.
///
/// - the scheme is `spiffe`, lower case, followed by `://`;
/// - the trust domain is not empty and uses only `a-z 0-9 . - _` (so no
///   upper case, userinfo `@`, port `:` or percent-encoding);
/// - the path is empty or `/`-separated segments of `A-Z a-z 0-9 . - _`,
///   none of them empty, `.` or `..`, and no trailing slash;
/// - no query (`?`) or fragment (`#`) and no percent-encoding anywhere;
/// - 2048 bytes at most.
///
/// Every byte is checked as a byte: a NUL, a newline or invalid UTF-8 is an
/// invalid character, never truncated or replaced.
public struct SPIFFEID: Sendable, Hashable, CustomStringConvertible {
    /// Longest SPIFFE ID accepted, in bytes (the spec's limit).
    public static let maxLength = 2048
    static let schemePrefix: [UInt8] = Array("spiffe://".utf8)

    public let trustDomain: String
    /// The path's segments; empty for a trust domain's own ID.
    public let segments: [String]

    /// Parses `uri`; throws with the first rule it breaks.
    public init(parsing uri: some Collection<UInt8>) throws(SPIFFEIDError) {
        let bytes = Array(uri)
        func fail(_ code: SPIFFEIDError.Code, _ message: String, at offset: Int? = nil) -> SPIFFEIDError {
            SPIFFEIDError(code, message, input: bytes, offset: offset)
        }
        guard !bytes.isEmpty else { throw fail(.empty, "the SPIFFE ID is empty") }
        guard bytes.count <= Self.maxLength else {
            throw fail(.tooLong, "a SPIFFE ID is at most \(Self.maxLength) bytes, this one has \(bytes.count)")
        }
        let prefix = Self.schemePrefix
        guard bytes.count >= prefix.count, bytes.prefix(prefix.count).elementsEqual(prefix) else {
            let lowered = bytes.prefix(prefix.count).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            if lowered.elementsEqual(prefix) {
                throw fail(.scheme, "the scheme must be lower-case \"spiffe\"")
            }
            throw fail(.scheme, "a SPIFFE ID starts with \"spiffe://\"")
        }
        // Query, fragment and percent-encoding are refused wherever they are,
        // before the parts are looked at, so the reason is the same in both.
        for (i, b) in bytes.enumerated() {
            switch b {
            case UInt8(ascii: "?"): throw fail(.query, "a SPIFFE ID has no query part", at: i)
            case UInt8(ascii: "#"): throw fail(.fragment, "a SPIFFE ID has no fragment", at: i)
            case UInt8(ascii: "%"): throw fail(.percentEncoding, "a SPIFFE ID has no percent-encoding", at: i)
            default: continue
            }
        }
        var i = prefix.count
        let tdStart = i
        while i < bytes.count && bytes[i] != UInt8(ascii: "/") {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                break
            case UInt8(ascii: "@"): throw fail(.userinfo, "the trust domain has no userinfo (\"@\")", at: i)
            case UInt8(ascii: ":"): throw fail(.port, "the trust domain has no port (\":\")", at: i)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                throw fail(.trustDomainCharacter, "the trust domain must be lower case, found \(SPIFFEIDError.show(b))", at: i)
            default:
                throw fail(.trustDomainCharacter, "the trust domain allows only a-z, 0-9, '.', '-' and '_', found \(SPIFFEIDError.show(b))", at: i)
            }
            i += 1
        }
        guard i > tdStart else { throw fail(.trustDomainEmpty, "the trust domain is empty", at: tdStart) }
        trustDomain = String(decoding: bytes[tdStart..<i], as: UTF8.self)
        var segments: [String] = []
        // i is at a '/' or at the end.
        while i < bytes.count {
            let start = i + 1
            var j = start
            while j < bytes.count && bytes[j] != UInt8(ascii: "/") {
                let b = bytes[j]
                switch b {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    break
                default:
                    throw fail(.pathCharacter, "path segments allow only A-Z, a-z, 0-9, '.', '-' and '_', found \(SPIFFEIDError.show(b))", at: j)
                }
                j += 1
            }
            let segment = bytes[start..<j]
            if segment.isEmpty {
                if j == bytes.count { throw fail(.trailingSlash, "the path ends with a slash", at: i) }
                throw fail(.emptySegment, "the path has an empty segment (\"//\")", at: i)
            }
            if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw fail(.dotSegment, "the path has a \"\(String(decoding: segment, as: UTF8.self))\" segment", at: start)
            }
            segments.append(String(decoding: segment, as: UTF8.self))
            i = j
        }
        self.segments = segments
    }

    /// `spiffe://TD/SEG/...`.
    public var description: String {
        "spiffe://" + trustDomain + segments.map { "/" + $0 }.joined()
    }
}
