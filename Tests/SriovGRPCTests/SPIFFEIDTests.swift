import SriovGRPC
import Testing

/// The SPIFFE ID parser and the typed identity, without sockets: every rule
/// of the SPIFFE-ID specification, its own examples, and the
/// `spiffe://TD/ROLE/NAME` form on top.
@Suite struct SPIFFEIDTests {
    struct Valid: Sendable, CustomTestStringConvertible {
        var uri: String
        var trustDomain: String
        var segments: [String]
        var testDescription: String { uri }
    }

    /// Valid SPIFFE IDs, the specification's examples among them.
    static let valid: [Valid] = [
        Valid(uri: "spiffe://trust-domain-name/path", trustDomain: "trust-domain-name", segments: ["path"]),
        Valid(uri: "spiffe://staging.example.com/payments/mysql", trustDomain: "staging.example.com", segments: ["payments", "mysql"]),
        Valid(uri: "spiffe://k8s-west.example.com/ns/staging/sa/default", trustDomain: "k8s-west.example.com", segments: ["ns", "staging", "sa", "default"]),
        Valid(uri: "spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453", trustDomain: "example.com", segments: ["9eebccd2-12bf-40a6-b262-65fe0487d453"]),
        Valid(uri: "spiffe://example.org", trustDomain: "example.org", segments: []),
        Valid(uri: "spiffe://a_b.c-d.9/Upper/dots.in.segment/under_score", trustDomain: "a_b.c-d.9", segments: ["Upper", "dots.in.segment", "under_score"]),
        Valid(uri: "spiffe://td/...", trustDomain: "td", segments: ["..."]),
    ]

    @Test(arguments: valid)
    func validIDsParseIntoTrustDomainAndSegments(_ v: Valid) throws {
        let id = try SPIFFEID(parsing: Array(v.uri.utf8))
        #expect(id.trustDomain == v.trustDomain)
        #expect(id.segments == v.segments)
        #expect(id.description == v.uri)
    }

    struct Invalid: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var code: SPIFFEIDError.Code
        /// Expected in the error's description.
        var says: String
        var testDescription: String { name }
        init(_ name: String, _ uri: String, _ code: SPIFFEIDError.Code, _ says: String) {
            self.init(name, Array(uri.utf8), code, says)
        }
        init(_ name: String, _ bytes: [UInt8], _ code: SPIFFEIDError.Code, _ says: String) {
            self.name = name
            self.bytes = bytes
            self.code = code
            self.says = says
        }
    }

    static let invalid: [Invalid] = [
        Invalid("empty", "", .empty, "the SPIFFE ID is empty"),
        Invalid("no scheme", "sriov.local/node/a", .scheme, "starts with \"spiffe://\""),
        Invalid("another scheme", "https://sriov.local/node/a", .scheme, "starts with \"spiffe://\""),
        Invalid("scheme without slashes", "spiffe:sriov.local/node/a", .scheme, "starts with \"spiffe://\""),
        Invalid("upper-case scheme", "SPIFFE://sriov.local/node/a", .scheme, "lower-case \"spiffe\""),
        Invalid("mixed-case scheme", "Spiffe://sriov.local/node/a", .scheme, "lower-case \"spiffe\""),
        Invalid("empty trust domain", "spiffe:///node/a", .trustDomainEmpty, "trust domain is empty (byte 9)"),
        Invalid("nothing after the scheme", "spiffe://", .trustDomainEmpty, "trust domain is empty"),
        Invalid("upper-case trust domain", "spiffe://Sriov.local/node/a", .trustDomainCharacter, "must be lower case, found 'S' (byte 9)"),
        Invalid("userinfo", "spiffe://user@sriov.local/node/a", .userinfo, "no userinfo"),
        Invalid("userinfo with password", "spiffe://user:pw@sriov.local/node/a", .port, "no port"),
        Invalid("port", "spiffe://sriov.local:8443/node/a", .port, "no port (\":\") (byte 20)"),
        Invalid("query", "spiffe://sriov.local/node/a?x=1", .query, "no query part (byte 27)"),
        Invalid("query on the trust domain", "spiffe://sriov.local?x", .query, "no query part"),
        Invalid("fragment", "spiffe://sriov.local/node/a#f", .fragment, "no fragment"),
        Invalid("percent-encoding in the path", "spiffe://sriov.local/node/%61", .percentEncoding, "no percent-encoding"),
        Invalid("percent-encoding in the trust domain", "spiffe://sriov%2Elocal/node/a", .percentEncoding, "no percent-encoding"),
        Invalid("trust domain with a space", "spiffe://sriov local/node/a", .trustDomainCharacter, "allows only a-z"),
        Invalid("trailing slash", "spiffe://sriov.local/node/", .trailingSlash, "ends with a slash"),
        Invalid("trailing slash after the trust domain", "spiffe://sriov.local/", .trailingSlash, "ends with a slash"),
        Invalid("empty segment", "spiffe://sriov.local/node//a", .emptySegment, "empty segment"),
        Invalid("dot segment", "spiffe://sriov.local/node/./a", .dotSegment, "a \".\" segment"),
        Invalid("dot-dot segment", "spiffe://sriov.local/operator/../node/a", .dotSegment, "a \"..\" segment"),
        Invalid("path character", "spiffe://sriov.local/node/a+b", .pathCharacter, "found '+'"),
        Invalid("NUL in the path", Array("spiffe://sriov.local/operator/admin".utf8) + [0] + Array(".node.worker-1".utf8), .pathCharacter, "found \\x00 (byte 35)"),
        Invalid("newline in the path", Array("spiffe://sriov.local/node/a".utf8) + [10] + Array("forged".utf8), .pathCharacter, "found \\x0a"),
        Invalid("invalid UTF-8 in the path", Array("spiffe://sriov.local/node/w".utf8) + [0xFF], .pathCharacter, "found \\xff"),
        Invalid("UTF-8 letter in the path", Array("spiffe://sriov.local/node/wörker".utf8), .pathCharacter, "found \\xc3"),
        Invalid("2049 bytes", "spiffe://sriov.local/node/" + String(repeating: "a", count: 2049 - 26), .tooLong, "at most 2048 bytes, this one has 2049"),
    ]

    @Test(arguments: invalid)
    func invalidIDsAreRefusedWithTheRuleTheyBreak(_ c: Invalid) {
        do {
            let id = try SPIFFEID(parsing: c.bytes)
            Issue.record("accepted as \(id)")
        } catch {
            #expect(error.code == c.code, "\(error)")
            #expect(error.description.contains(c.says), "\(error)")
            // Nothing unprintable reaches a message.
            #expect(error.description.utf8.allSatisfy { (0x20...0x7E).contains($0) }, "\(error)")
        }
    }

    @Test func aSPIFFEIDOf2048BytesIsAccepted() throws {
        let uri = "spiffe://sriov.local/node/" + String(repeating: "a", count: 2048 - 26)
        #expect(uri.utf8.count == 2048)
        let id = try SPIFFEID(parsing: Array(uri.utf8))
        #expect(id.segments.count == 2)
    }

    struct Typed: Sendable, CustomTestStringConvertible {
        var uri: String
        /// The identity, or the code of the refusal.
        var identity: SPIFFEIdentity?
        var code: SPIFFEIDError.Code?
        var testDescription: String { uri }
        init(_ uri: String, _ role: SPIFFEIdentity.Role, _ name: String) {
            self.uri = uri
            identity = try! SPIFFEIdentity(trustDomain: "sriov.local", role: role, name: name)
        }
        init(_ uri: String, _ code: SPIFFEIDError.Code) {
            self.uri = uri
            self.code = code
        }
    }

    static let typed: [Typed] = [
        Typed("spiffe://sriov.local/operator/admin", .operator, "admin"),
        Typed("spiffe://sriov.local/viewer/mirror", .viewer, "mirror"),
        Typed("spiffe://sriov.local/node/worker-1", .node, "worker-1"),
        Typed("spiffe://sriov.local/node/" + String(repeating: "a", count: 63), .node, String(repeating: "a", count: 63)),
        Typed("spiffe://sriov.local/node/0", .node, "0"),
        Typed("spiffe://evil.example/operator/admin", .trustDomainMismatch),
        Typed("spiffe://sriov.local.evil/operator/admin", .trustDomainMismatch),
        Typed("spiffe://sriov.local", .pathShape),
        Typed("spiffe://sriov.local/operator", .pathShape),
        Typed("spiffe://sriov.local/operator/admin/extra", .pathShape),
        Typed("spiffe://sriov.local/operator/", .trailingSlash),
        Typed("spiffe://sriov.local/admin/root", .unknownRole),
        Typed("spiffe://sriov.local/Operator/admin", .unknownRole),
        Typed("spiffe://sriov.local/controller/sriov-controller", .unknownRole),
        Typed("spiffe://sriov.local/node/Worker-1", .invalidName),
        Typed("spiffe://sriov.local/node/worker_1", .invalidName),
        Typed("spiffe://sriov.local/node/-worker", .invalidName),
        Typed("spiffe://sriov.local/node/worker-", .invalidName),
        Typed("spiffe://sriov.local/node/worker.example.com", .invalidName),
        Typed("spiffe://sriov.local/node/" + String(repeating: "a", count: 64), .invalidName),
    ]

    @Test(arguments: typed)
    func typedIdentitiesNeedTrustDomainRoleAndLabel(_ c: Typed) {
        do {
            let got = try SPIFFEIdentity(parsing: Array(c.uri.utf8), expectedTrustDomain: "sriov.local")
            #expect(got == c.identity, "accepted as \(got)")
            #expect(got.uri == c.uri)
            #expect(got.description == c.uri)
        } catch {
            #expect(c.code != nil && error.code == c.code, "\(error)")
        }
    }

    @Test func theMemberwiseInitializerValidatesEachPart() throws {
        let id = try SPIFFEIdentity(trustDomain: "sriov.local", role: .node, name: "worker-1")
        #expect(id.uri == "spiffe://sriov.local/node/worker-1")
        #expect(throws: SPIFFEIDError.self) { try SPIFFEIdentity(trustDomain: "Sriov.local", role: .node, name: "a") }
        #expect(throws: SPIFFEIDError.self) { try SPIFFEIdentity(trustDomain: "sriov.local/node", role: .node, name: "a") }
        #expect(throws: SPIFFEIDError.self) { try SPIFFEIdentity(trustDomain: "sriov.local", role: .node, name: "a/b") }
        #expect(throws: SPIFFEIDError.self) { try SPIFFEIdentity(trustDomain: "sriov.local", role: .node, name: "") }
        #expect(throws: SPIFFEIDError.self) { try SPIFFEIdentity(trustDomain: "", role: .node, name: "a") }
    }

    @Test func errorsEscapeEveryUnprintableByteAndCutLongInput() {
        let escaped: String = SPIFFEIDError.escape([0x61, 0x00, 0x0A, 0x22, 0x5C, 0xFF] as [UInt8])
        #expect(escaped == #"a\x00\x0a\"\\\xff"#)
        let long = Array("spiffe://sriov.local/node/".utf8) + [UInt8](repeating: 0x0A, count: 3000)
        do {
            _ = try SPIFFEID(parsing: long)
            Issue.record("accepted")
        } catch {
            #expect(error.inputLength == 3026)
            #expect(error.input.count == 256)
            #expect(error.escapedInput.hasSuffix("...(3026 bytes)"))
            #expect(!error.description.contains("\n"))
        }
    }
}
