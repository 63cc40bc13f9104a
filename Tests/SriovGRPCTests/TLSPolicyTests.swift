import Foundation
import SriovGRPC
import Testing

/// The fixed TLS policy seen from outside with `openssl s_client`: which
/// versions and suites are negotiated, the security level, no resumption;
/// and the client's server-name checks.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct TLSPolicyTests {
    let echo = EchoService()

    /// Certificates besides make-certs' own: an RSA-2048 server, an RSA-1024
    /// operator, a node certificate that names localhost (posing as the
    /// controller), a server certificate without localhost.
    static let certs: Result<CertificateDirectory, any Error> = Result {
        let dir = try CertificateDirectory.make(["--node", "n1", "--operator", "op"])
        let serverExtensions = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=serverAuth"]
        let localhost: [CraftedCertificate.SAN] = [.dns("localhost"), .ip([127, 0, 0, 1])]
        try CraftedCertificate(name: "rsa-server", sans: localhost, key: .rsa(bits: 2048), extensions: serverExtensions).write(into: dir)
        try CraftedCertificate(name: "rsa1024-operator", sans: [CraftedCertificate.uri("spiffe://sriov.local/operator/weak")], key: .rsa(bits: 1024)).write(into: dir)
        try CraftedCertificate(name: "node-posing", sans: localhost + [CraftedCertificate.uri("spiffe://sriov.local/node/n1")]).write(into: dir)
        try CraftedCertificate(name: "elsewhere-server", sans: [.dns("controller.example")], extensions: serverExtensions).write(into: dir)
        return dir
    }

    /// `openssl s_client` against `port` as operator `op` (or `identity`),
    /// with `extra` arguments; its whole output.
    static func sClient(_ port: Int, _ extra: [String], identity: String = "operator-op") async throws -> String {
        let c = try certs.get()
        let out = try await ProcessRunner.run("/usr/bin/openssl", [
            "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", c.path("ca.crt"), "-cert", c.path("\(identity).crt"),
            "-key", c.path("\(identity).key"), "-alpn", "h2", "-servername", "localhost",
        ] + extra, timeout: .seconds(20))
        return out.stdout + out.stderr
    }

    /// The cipher s_client reports, `(NONE)` when nothing was negotiated.
    static func negotiated(_ output: String) -> String? {
        output.firstMatch(of: /Cipher is ([A-Za-z0-9_()-]+)/).map { String($0.1) }
    }

    struct CipherCase: Sendable, CustomTestStringConvertible {
        var server: String
        var arguments: [String]
        /// The suite negotiated, nil when the handshake must fail.
        var negotiates: String?
        var testDescription: String { "\(server) \(arguments.joined(separator: " "))" }
    }

    // `@SECLEVEL=0` lets s_client offer what our policy must refuse.
    static let cipherCases: [CipherCase] = [
        CipherCase(server: "controller", arguments: ["-tls1_3"], negotiates: "TLS_AES_128_GCM_SHA256"),
        CipherCase(server: "controller", arguments: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], negotiates: "ECDHE-ECDSA-AES128-GCM-SHA256"),
        CipherCase(server: "controller", arguments: ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], negotiates: "ECDHE-ECDSA-CHACHA20-POLY1305"),
        CipherCase(server: "controller", arguments: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"], negotiates: nil),
        CipherCase(server: "controller", arguments: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0"], negotiates: nil),
        CipherCase(server: "rsa-server", arguments: ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"], negotiates: "ECDHE-RSA-AES256-GCM-SHA384"),
        CipherCase(server: "rsa-server", arguments: ["-tls1_2", "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"], negotiates: nil),
        CipherCase(server: "rsa-server", arguments: ["-tls1_2", "-cipher", "AES256-SHA256:@SECLEVEL=0"], negotiates: nil),
        CipherCase(server: "rsa-server", arguments: ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"], negotiates: nil),
        CipherCase(server: "rsa-server", arguments: ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"], negotiates: nil),
    ]

    @Test(arguments: cipherCases)
    func onlyECDHEWithAEADIsNegotiatedOverTLS12(_ c: CipherCase) async throws {
        let h = try LoopbackHarness(routes: echo.routes, certs: try Self.certs.get(), serverIdentity: c.server)
        let output = try await Self.sClient(h.port, c.arguments)
        if let suite = c.negotiates {
            #expect(Self.negotiated(output) == suite, "\(output)")
        } else {
            #expect(Self.negotiated(output) == "(NONE)", "\(output)")
            #expect(try await eventually { h.log.all.contains { $0.contains("no shared cipher") } }, "\(h.log.all)")
        }
        await h.stop()
    }

    @Test func aClientKeyBelowSecurityLevel2IsRefused() async throws {
        let h = try LoopbackHarness(routes: echo.routes, certs: try Self.certs.get())
        let output = try await Self.sClient(h.port, ["-tls1_3", "-cipher", "DEFAULT:@SECLEVEL=0"], identity: "rsa1024-operator")
        #expect(try await eventually { h.log.all.contains { $0.contains("EE certificate key too weak") } }, "\(h.log.all)\n\(output)")
        #expect(h.server.connectionCount == 0)
        await h.stop()
    }

    @Test(arguments: ["-tls1_2", "-tls1_3"])
    func noSessionIsResumedAndEveryReconnectHandshakesInFull(version: String) async throws {
        let h = try LoopbackHarness(routes: echo.routes, certs: try Self.certs.get())
        let output = try await Self.sClient(h.port, [version, "-reconnect"])
        let handshakes = output.matches(of: #/\n(New|Reused), /#).map { String($0.1) }
        #expect(handshakes.count == 6, "\(output)")
        #expect(handshakes.allSatisfy { $0 == "New" }, "\(output)")
        #expect(!output.contains("TLS session ticket:"), "\(output)")
        #expect(!output.contains("alert"), "\(output)")
        #expect(!h.log.all.contains { $0.contains("internal error") }, "\(h.log.all)")
        await h.stop()
    }

    @Test func theClientRefusesANodeCertificatePosingAsTheController() async throws {
        let certs = try Self.certs.get()
        for server in ["node-posing", "node-n1"] {
            let h = try LoopbackHarness(routes: echo.routes, certs: certs, serverIdentity: server)
            let ch = try h.channel(identity: "operator-op")
            do {
                _ = try await ch.unaryRaw(path: "/test.Echo/Identity", [], timeout: .seconds(5))
                Issue.record("\(server): the client trusted a node certificate as its server")
            } catch let e as RPCError {
                #expect(e.code == .unavailable)
                #expect(e.message.contains("unsuitable certificate purpose"), "\(e.message)")
            }
            ch.close()
            await h.stop()
        }
    }

    @Test func unixSocketTargetsCheckTheServerNameToo() async throws {
        let certs = try Self.certs.get()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-\(UUID().uuidString.prefix(8)).sock").path
        let server = try GRPCServer(
            configuration: ServerConfiguration(target: .unix(path), security: .tls(TLSConfiguration(
                certificatePath: certs.path("elsewhere-server.crt"), privateKeyPath: certs.path("elsewhere-server.key"), trustRootsPath: certs.path("ca.crt")))),
            routes: echo.routes, logger: .init(label: "t"))
        try server.start()
        // No server name given: "localhost" is checked, and this certificate lacks it.
        let unnamed = try GRPCChannel(configuration: ClientConfiguration(target: .unix(path), security: .tls(certs.clientTLS())))
        do {
            _ = try await unnamed.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5))
            Issue.record("no name check on a Unix socket")
        } catch let e as RPCError {
            #expect(e.message.contains("hostname mismatch"), "\(e.message)")
        }
        unnamed.close()
        let named = try GRPCChannel(configuration: ClientConfiguration(target: .unix(path), security: .tls(certs.clientTLS(), serverName: "controller.example")))
        #expect(try await named.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5)) == [1])
        named.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }

    @Test(arguments: ["", "local\u{0}host"])
    func aServerNameThatCannotBeSetFailsTheConnection(name: String) async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        let ch = try h.channel(serverName: name)
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5))
            Issue.record("connected without a name check")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains("setting the server name to verify"), "\(e.message)")
        }
        ch.close()
        await h.stop()
    }
}
