import Foundation
import SriovGRPC
import Testing

/// TLS refusals: each is refused with a clear error on both sides, and the
/// server keeps serving proper clients.
@Suite(.timeLimit(.minutes(1)), .serialized)
struct SecurityTests {
    let echo = EchoService()

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// Client certificate base name, nil for none.
        var identity: String?
        /// Use the other CA's directory for the client certificate.
        var otherCA = false
        /// Server name the client verifies.
        var serverName: String?
        /// Expected in the client's error message.
        var clientSays: String
        /// Expected in the server's log, nil when the client gives up first.
        var serverSays: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no client certificate", identity: nil, clientSays: "TLS", serverSays: "peer did not return a certificate"),
        Case(name: "client certificate from another CA", identity: "node-n1", otherCA: true, clientSays: "TLS", serverSays: "certificate verification failed"),
        Case(name: "expired client certificate", identity: "expired-node-old", clientSays: "TLS", serverSays: "certificate has expired"),
        Case(name: "server certificate without the expected DNS name", identity: "node-n1", serverName: "controller.example", clientSays: "certificate verification failed: hostname mismatch", serverSays: nil),
        Case(name: "server certificate without the expected IP", identity: "node-n1", serverName: "10.9.8.7", clientSays: "certificate verification failed: IP address mismatch", serverSays: nil),
    ]

    static let otherCA: Result<CertificateDirectory, any Error> = Result { try CertificateDirectory.make(["--node", "n1"]) }

    @Test(arguments: cases)
    func refusedWithClearErrorsOnBothSides(_ c: Case) async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        var channel: GRPCChannel
        if c.otherCA {
            let other = try Self.otherCA.get()
            let tls = TLSConfiguration(certificatePath: other.path("node-n1.crt"), privateKeyPath: other.path("node-n1.key"), trustRootsPath: h.certs.path("ca.crt"))
            channel = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: h.port), security: .tls(tls)))
        } else {
            channel = try h.channel(identity: c.identity, serverName: c.serverName)
        }
        do {
            _ = try await channel.unaryRaw(path: "/test.Echo/Unary", [1], timeout: .seconds(5))
            Issue.record("\(c.name): the call succeeded")
        } catch let e as RPCError {
            #expect(e.code == .unavailable)
            #expect(e.message.contains(c.clientSays), "\(e.message)")
        }
        channel.close()
        if let serverSays = c.serverSays {
            for _ in 0..<100 where !h.log.all.contains(where: { $0.contains(serverSays) }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(h.log.all.contains { $0.contains(serverSays) }, "\(h.log.all)")
        }
        // A proper client is still served.
        let good = try h.channel()
        #expect(try await good.unaryRaw(path: "/test.Echo/Unary", [2]) == [2])
        good.close()
        await h.stop()
    }

    @Test func serverAcceptsClientsWithoutCertificatesOnlyWhenConfiguredTo() async throws {
        let h = try LoopbackHarness(routes: echo.routes, clientAuth: .none)
        let ch = try h.channel(identity: nil)
        #expect(try await ch.unaryRaw(path: "/test.Echo/Whoami", []) == Array("none".utf8))
        ch.close()
        await h.stop()
        #expect(h.log.all.contains { $0.contains("TLS without client certificates") })
    }

    @Test func serverReloadKeepsServingWithTheReloadedCertificates() async throws {
        let h = try LoopbackHarness(routes: echo.routes)
        let before = try h.channel()
        #expect(try await before.unaryRaw(path: "/test.Echo/Unary", [1]) == [1])
        try h.server.reloadTLS()
        // The existing connection stays; a new one uses the reloaded context.
        #expect(try await before.unaryRaw(path: "/test.Echo/Unary", [2]) == [2])
        let after = try h.channel()
        #expect(try await after.unaryRaw(path: "/test.Echo/Unary", [3]) == [3])
        before.close()
        after.close()
        await h.stop()
    }

    @Test func configurationErrorsNameTheFiles() throws {
        let certs = try CertificateDirectory.shared()
        let bad = TLSConfiguration(certificatePath: certs.path("missing.crt"), privateKeyPath: certs.path("controller.key"), trustRootsPath: certs.path("ca.crt"))
        do {
            _ = try GRPCServer(configuration: ServerConfiguration(target: .host("127.0.0.1", port: 0), security: .tls(bad)), routes: [], logger: .init(label: "t"))
            Issue.record("accepted a missing certificate")
        } catch let e as TLSError {
            #expect(e.description.contains("missing.crt"))
        }
        let mismatched = TLSConfiguration(certificatePath: certs.path("controller.crt"), privateKeyPath: certs.path("node-n1.key"), trustRootsPath: certs.path("ca.crt"))
        #expect(throws: TLSError.self) {
            _ = try GRPCServer(configuration: ServerConfiguration(target: .host("127.0.0.1", port: 0), security: .tls(mismatched)), routes: [], logger: .init(label: "t"))
        }
    }
}
