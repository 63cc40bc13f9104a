import Foundation
import SriovGRPC
import Testing

/// Client identities at the handshake: certificates signed by the server's
/// own CA but crafted as an attacker would, each refused with its reason in
/// the server's log, and the valid ones handed to handlers as the exact
/// typed identity.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct IdentityTests {
    let echo = EchoService()

    enum Expectation: Sendable {
        case identity(SPIFFEIdentity.Role, String)
        /// Refused; the server's log says this.
        case refused(String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var certificate: CraftedCertificate
        var expectation: Expectation
        var trustDomain = "sriov.local"
        var testDescription: String { certificate.name }

        init(_ name: String, _ sans: [CraftedCertificate.SAN], extensions: [String] = CraftedCertificate.clientLeaf,
             trustDomain: String = "sriov.local", _ expectation: Expectation) {
            certificate = CraftedCertificate(name: name, sans: sans, extensions: extensions)
            self.expectation = expectation
            self.trustDomain = trustDomain
        }
    }

    static func uri(_ s: String) -> CraftedCertificate.SAN { CraftedCertificate.uri(s) }
    static func bytes(_ s: String, _ tail: [UInt8]) -> CraftedCertificate.SAN { .uri(Array(s.utf8) + tail) }

    /// A trust domain long enough that `spiffe://TD/node/worker-001` is 2048 bytes.
    static let longTrustDomain = String(repeating: "a", count: 2048 - "spiffe:///node/worker-001".utf8.count)

    static let cases: [Case] = [
        // Valid identities.
        Case("valid-operator", [uri("spiffe://sriov.local/operator/admin")], .identity(.operator, "admin")),
        Case("valid-viewer", [uri("spiffe://sriov.local/viewer/mirror")], .identity(.viewer, "mirror")),
        Case("valid-node", [uri("spiffe://sriov.local/node/worker-1")], .identity(.node, "worker-1")),
        Case("valid-node-with-dns-san-beside", [.dns("worker-1.example"), uri("spiffe://sriov.local/node/worker-1")], .identity(.node, "worker-1")),
        Case("valid-without-eku", [uri("spiffe://sriov.local/node/worker-2")],
             extensions: ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature"], .identity(.node, "worker-2")),
        Case("valid-2048-byte-id", [uri("spiffe://\(longTrustDomain)/node/worker-001")], trustDomain: longTrustDomain, .identity(.node, "worker-001")),
        // SPIFFE ID rules.
        Case("other-trust-domain", [uri("spiffe://evil.example/operator/admin")], .refused("is not the configured \"sriov.local\"")),
        Case("extra-segment", [uri("spiffe://sriov.local/operator/admin/extra")], .refused("it has 3 segments")),
        Case("empty-name-segment", [uri("spiffe://sriov.local/operator/")], .refused("the path ends with a slash")),
        Case("empty-middle-segment", [uri("spiffe://sriov.local/operator//admin")], .refused("empty segment")),
        Case("dot-dot-segment", [uri("spiffe://sriov.local/node/../operator/admin")], .refused("a \"..\" segment")),
        Case("dot-segment", [uri("spiffe://sriov.local/./operator/admin")], .refused("a \".\" segment")),
        Case("percent-encoding", [uri("spiffe://sriov.local/operator/%61dmin")], .refused("no percent-encoding")),
        Case("upper-case-scheme", [uri("SPIFFE://sriov.local/operator/admin")], .refused("lower-case \"spiffe\"")),
        Case("upper-case-trust-domain", [uri("spiffe://SRIOV.local/operator/admin")], .refused("trust domain must be lower case")),
        Case("query", [uri("spiffe://sriov.local/operator/admin?role=node")], .refused("no query part")),
        Case("fragment", [uri("spiffe://sriov.local/operator/admin#x")], .refused("no fragment")),
        Case("userinfo", [uri("spiffe://admin@sriov.local/operator/admin")], .refused("no userinfo")),
        Case("port", [uri("spiffe://sriov.local:443/operator/admin")], .refused("no port")),
        Case("unknown-role", [uri("spiffe://sriov.local/admin/root")], .refused("role \"admin\" is not one of operator, viewer, node")),
        Case("controller-role", [uri("spiffe://sriov.local/controller/sriov-controller")], .refused("role \"controller\"")),
        Case("name-not-a-label", [uri("spiffe://sriov.local/node/Worker_1")], .refused("is not a DNS-1123 label")),
        Case("two-uri-sans", [uri("spiffe://sriov.local/node/worker-1"), uri("spiffe://sriov.local/operator/admin")], .refused("carries 2 URI SANs")),
        Case("two-uri-sans-operator-first", [uri("spiffe://sriov.local/operator/admin"), uri("spiffe://sriov.local/node/worker-1")], .refused("carries 2 URI SANs")),
        // Bytes are never truncated, replaced or logged raw.
        Case("nul-inside", [bytes("spiffe://sriov.local/operator/admin", [0] + Array(".node.worker-1".utf8))], .refused("found \\x00")),
        Case("invalid-utf8", [bytes("spiffe://sriov.local/node/worker-", [0xFF])], .refused("found \\xff")),
        Case("newline", [bytes("spiffe://sriov.local/node/w", [10] + Array("forged log line".utf8))], .refused("found \\x0a")),
        // No SPIFFE ID at all, or one too long.
        Case("dns-only", [.dns("worker-1.example")], .refused("carries no URI SAN")),
        Case("email-only", [.email("admin@example.com")], .refused("carries no URI SAN")),
        Case("no-san", [], .refused("carries no URI SAN")),
        Case("uri-600-bytes", [uri("spiffe://sriov.local/node/" + String(repeating: "a", count: 574))], .refused("is not a DNS-1123 label")),
        Case("uri-2049-bytes", [uri("spiffe://sriov.local/node/" + String(repeating: "a", count: 2049 - 26))], .refused("at most 2048 bytes, this one has 2049")),
        // X509-SVID leaf rules.
        Case("ca-true-with-keycertsign", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,digitalSignature,keyCertSign", "extendedKeyUsage=clientAuth"],
             .refused("must not be a CA")),
        Case("ca-true-without-keycertsign", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"],
             .refused("must not be a CA")),
        Case("keycertsign-without-ca", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyCertSign", "extendedKeyUsage=clientAuth"],
             .refused("must not have keyUsage keyCertSign")),
        Case("crlsign", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,cRLSign", "extendedKeyUsage=clientAuth"],
             .refused("must not have keyUsage cRLSign")),
        Case("no-key-usage", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:FALSE", "extendedKeyUsage=clientAuth"], .refused("needs a keyUsage extension")),
        Case("no-digital-signature", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,keyAgreement", "extendedKeyUsage=clientAuth"],
             .refused("needs keyUsage digitalSignature")),
        Case("no-basic-constraints", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"], .identity(.operator, "admin")),
        // A server-only EKU: OpenSSL's purpose check refuses it before ours.
        Case("server-auth-only", [uri("spiffe://sriov.local/operator/admin")],
             extensions: ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth"],
             .refused("unsuitable certificate purpose")),
    ]

    static let forged: Result<CertificateDirectory, any Error> = Result {
        let dir = try CertificateDirectory.make(["--node", "n1"])
        for c in cases { try c.certificate.write(into: dir) }
        return dir
    }

    @Test(arguments: cases)
    func eachCraftedCertificateIsRefusedAtTheHandshakeOrYieldsItsExactIdentity(_ c: Case) async throws {
        let certs = try Self.forged.get()
        let h = try LoopbackHarness(routes: echo.routes, certs: certs, trustDomain: c.trustDomain)
        let ch = try h.channel(identity: c.certificate.name)
        defer { ch.close() }
        switch c.expectation {
        case .identity(let role, let name):
            let answer = try await ch.unaryRaw(path: "/test.Echo/Identity", [], timeout: .seconds(5))
            #expect(String(decoding: answer, as: UTF8.self) == "\(c.trustDomain) \(role.rawValue) \(name)")
            #expect(h.server.metrics.identityRefusals.load(ordering: .relaxed) == 0)
        case .refused(let serverSays):
            do {
                let answer = try await ch.unaryRaw(path: "/test.Echo/Identity", [], timeout: .seconds(5))
                Issue.record("accepted as \(String(decoding: answer, as: UTF8.self))")
            } catch let e as RPCError {
                #expect(e.code == .unavailable, "\(e)")
            }
            #expect(try await eventually { h.log.all.contains { $0.contains(serverSays) } }, "\(h.log.all)")
            // Whatever the certificate holds, no log entry spans two lines.
            #expect(!h.log.all.contains { $0.contains("\n") || $0.contains("\r") }, "\(h.log.all)")
        }
        await h.stop()
    }

    @Test func theControllersOwnCertificateIsNotAClientIdentity() async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        let ch = try h.channel(identity: "controller")
        defer { ch.close() }
        await #expect(throws: RPCError.self) { try await ch.unaryRaw(path: "/test.Echo/Identity", [], timeout: .seconds(5)) }
        #expect(try await eventually { h.log.all.contains { $0.contains("unsuitable certificate purpose") } }, "\(h.log.all)")
        await h.stop()
    }

    @Test func aBadTrustDomainIsAConfigurationError() throws {
        let certs = try CertificateDirectory.shared()
        for td in ["", "Sriov.local", "sriov.local/x", "sriov.local:1"] {
            do {
                _ = try LoopbackHarness(routes: [], certs: certs, trustDomain: td)
                Issue.record("trust domain \"\(td)\" accepted")
            } catch let e as TLSError {
                #expect(e.description.contains("trust domain"), "\(e)")
            }
        }
    }
}
