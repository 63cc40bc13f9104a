import Foundation
import SriovGRPC
import Testing

/// Identities that lapse: CRLs, a certificate that expires under an open
/// connection, the maximum connection age, a reload that drops a CA, and a
/// failed reload that must be visible.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct RevocationTests {
    let echo = EchoService()

    /// Certificates with `node-revoked` on the CA's CRL.
    static func revokedDirectory() throws -> CertificateDirectory {
        try CertificateDirectory.make(["--node", "n1", "--node", "revoked", "--revoke", "node/revoked"])
    }

    static func call(_ ch: GRPCChannel) async throws -> String {
        String(decoding: try await ch.unaryRaw(path: "/test.Echo/Identity", [], timeout: .seconds(5)), as: UTF8.self)
    }

    enum CRLSource: String, CaseIterable, Sendable { case crlFile = "--tls-crl file", caBundle = "CA bundle" }

    @Test(arguments: CRLSource.allCases)
    func aRevokedCertificateIsRefusedAndOthersStillServed(source: CRLSource) async throws {
        let certs = try Self.revokedDirectory()
        var trustRoots: String?
        var crlPath: String?
        switch source {
        case .crlFile:
            crlPath = certs.path("ca.crl")
        case .caBundle:
            let bundle = certs.path("bundle.pem")
            try (String(contentsOfFile: certs.path("ca.crt"), encoding: .utf8) + String(contentsOfFile: certs.path("ca.crl"), encoding: .utf8))
                .write(toFile: bundle, atomically: true, encoding: .utf8)
            trustRoots = bundle
        }
        let h = try LoopbackHarness(routes: echo.routes, certs: certs, trustRoots: trustRoots, crlPath: crlPath)
        let good = try h.channel(identity: "node-n1")
        #expect(try await Self.call(good) == "sriov.local node n1")
        let revoked = try h.channel(identity: "node-revoked")
        await #expect(throws: RPCError.self) { try await Self.call(revoked) }
        #expect(try await eventually { h.log.all.contains { $0.contains("certificate revoked") } }, "\(h.log.all)")
        good.close()
        revoked.close()
        await h.stop()
    }

    @Test func aCRLFileWithoutCRLsIsAConfigurationError() throws {
        let certs = try CertificateDirectory.shared()
        do {
            _ = try LoopbackHarness(routes: [], certs: certs, crlPath: certs.path("ca.crt"))
            Issue.record("a CA certificate was taken for a CRL")
        } catch let e as TLSError {
            #expect(e.description.contains("ca.crt"), "\(e)")
            #expect(e.description.contains("holds no PEM X509 CRL"), "\(e)")
        }
    }

    @Test func revokingAndReloadingClosesTheRevokedClientsOpenConnection() async throws {
        let certs = try CertificateDirectory.make(["--node", "n1", "--node", "n2", "--crl"])
        let h = try LoopbackHarness(routes: echo.routes, certs: certs, crlPath: certs.path("ca.crl"))
        let n1 = try h.channel(identity: "node-n1")
        let n2 = try h.channel(identity: "node-n2")
        #expect(try await Self.call(n1) == "sriov.local node n1")
        #expect(try await Self.call(n2) == "sriov.local node n2")
        let out = try await ProcessRunner.run("/bin/bash", [CertificateDirectory.repoRoot + "/certs/make-certs.sh", certs.directory, "--revoke", "node/n1"])
        #expect(out.status == 0, "\(out.stderr)")
        try h.server.reloadTLS()
        #expect(try await eventually { h.server.metrics.connectionsRevoked.load(ordering: .relaxed) == 1 })
        #expect(h.log.all.contains { $0.contains("no longer verifies") && $0.contains("certificate revoked") }, "\(h.log.all)")
        // n1's next connection is refused; n2's connection was never dropped.
        await #expect(throws: RPCError.self) { try await Self.call(n1) }
        #expect(try await Self.call(n2) == "sriov.local node n2")
        #expect(h.server.connectionCount == 1)
        n1.close()
        n2.close()
        await h.stop()
    }

    @Test func aReloadThatDropsACAClosesItsClientsConnections() async throws {
        let certs = try CertificateDirectory.make(["--node", "n1"])
        let other = try CertificateDirectory.make(["--node", "other"])
        let bundle = certs.path("bundle.pem")
        let ours = try String(contentsOfFile: certs.path("ca.crt"), encoding: .utf8)
        try (ours + String(contentsOfFile: other.path("ca.crt"), encoding: .utf8)).write(toFile: bundle, atomically: true, encoding: .utf8)
        let h = try LoopbackHarness(routes: echo.routes, certs: certs, trustRoots: bundle)
        let mine = try h.channel(identity: "node-n1")
        let theirs = try GRPCChannel(configuration: ClientConfiguration(
            target: .host("127.0.0.1", port: h.port),
            security: .tls(other.clientTLS(identity: "node-other", trustRoots: certs.path("ca.crt")))))
        #expect(try await Self.call(mine) == "sriov.local node n1")
        #expect(try await Self.call(theirs) == "sriov.local node other")
        // A reload with the bundle unchanged re-verifies nothing.
        try h.server.reloadTLS()
        #expect(h.server.connectionCount == 2)
        try ours.write(toFile: bundle, atomically: true, encoding: .utf8)
        try h.server.reloadTLS()
        #expect(try await eventually { h.server.connectionCount == 1 })
        #expect(h.server.metrics.connectionsRevoked.load(ordering: .relaxed) == 1)
        #expect(try await Self.call(mine) == "sriov.local node n1")
        await #expect(throws: RPCError.self) { try await Self.call(theirs) }
        mine.close()
        theirs.close()
        await h.stop()
    }

    @Test func aCertificateThatExpiresUnderAnOpenConnectionEndsIt() async throws {
        let certs = try CertificateDirectory.make(["--node", "n1"])
        let notAfter = Date().addingTimeInterval(6)
        let expiring = CraftedCertificate(name: "expiring", sans: [CraftedCertificate.uri("spiffe://sriov.local/node/short")], notAfter: notAfter)
        try expiring.write(into: certs)
        var limits = ServerConfiguration.Limits()
        limits.maxConnectionAge = nil
        limits.maxConnectionAgeGrace = .seconds(1)
        let h = try LoopbackHarness(routes: echo.routes, limits: limits, certs: certs)
        let ch = try h.channel(identity: "expiring")
        defer { ch.close() }
        #expect(try await Self.call(ch) == "sriov.local node short")
        // A stream open on the connection is cut at notAfter at the latest.
        let stream = try await ch.openCall(path: "/test.Echo/Sleep", timeout: .seconds(30))
        try await stream.send([])
        stream.closeSend()
        let started = ContinuousClock.now
        await #expect(throws: RPCError.self) { _ = try await stream.receive() }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(h.server.metrics.connectionsAgedOut.load(ordering: .relaxed) == 1)
        // Reconnecting with the expired certificate is refused.
        let left = notAfter.timeIntervalSinceNow + 1
        if left > 0 { try await Task.sleep(for: .milliseconds(Int(left * 1000))) }
        await #expect(throws: RPCError.self) { try await Self.call(ch) }
        #expect(try await eventually { h.log.all.contains { $0.contains("certificate has expired") } }, "\(h.log.all)")
        await h.stop()
    }

    @Test func theMaximumAgeMovesClientsToNewConnectionsWithoutFailingCalls() async throws {
        var limits = ServerConfiguration.Limits()
        limits.maxConnectionAge = .milliseconds(400)
        limits.maxConnectionAgeGrace = .seconds(5)
        let h = try LoopbackHarness(routes: echo.routes, limits: limits)
        let ch = try h.channel()
        defer { ch.close() }
        let end = ContinuousClock.now + .seconds(3)
        var calls = 0
        while ContinuousClock.now < end {
            #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [UInt8(calls & 0xFF)], timeout: .seconds(5)) == [UInt8(calls & 0xFF)])
            calls += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        // About seven connections in 3 s; fewer on a loaded machine.
        #expect(calls >= 5)
        #expect(h.server.metrics.connectionsAgedOut.load(ordering: .relaxed) >= 2)
        await h.stop()
    }

    @Test func aFailedReloadIsVisibleAndServingCanBeTurnedOff() async throws {
        let certs = try CertificateDirectory.make(["--node", "n1"])
        let serverCA = certs.path("server-ca.pem")
        let saved = try Data(contentsOf: URL(fileURLWithPath: certs.path("ca.crt")))
        try saved.write(to: URL(fileURLWithPath: serverCA))
        let h = try LoopbackHarness(routes: echo.routes, certs: certs, trustRoots: serverCA)
        #expect(h.server.lastReloadError == nil)
        try "not a certificate\n".write(toFile: serverCA, atomically: true, encoding: .utf8)
        #expect(throws: TLSError.self) { try h.server.reloadTLS() }
        let error = try #require(h.server.lastReloadError)
        #expect(error.description.contains("server-ca.pem"), "\(error)")
        #expect(h.server.metrics.tlsReloadFailures.load(ordering: .relaxed) == 1)
        #expect(h.log.all.contains { $0.contains("TLS reload failed") })
        // Failing open (the default): the previous certificates keep serving.
        let ch = try h.channel()
        #expect(try await Self.call(ch) == "sriov.local node n1")
        // Failing closed: open connections drain, new ones are refused.
        h.server.setServing(false)
        #expect(!h.server.isServing)
        #expect(try await eventually { h.server.connectionCount == 0 })
        await #expect(throws: RPCError.self) { try await Self.call(ch) }
        try saved.write(to: URL(fileURLWithPath: serverCA))
        try h.server.reloadTLS()
        #expect(h.server.lastReloadError == nil)
        h.server.setServing(true)
        let again = try h.channel()
        #expect(try await Self.call(again) == "sriov.local node n1")
        ch.close()
        again.close()
        await h.stop()
    }
}
