import Foundation
import SriovGRPC
import SriovProto
import SriovTestSupport
import Testing

/// The built `sriov-controller` binary: ready line, health over mTLS,
/// clean exit on SIGTERM.
@Suite(.timeLimit(.minutes(1)))
struct ControllerExecutableTests {
    static var binary: String {
        RepoPaths.binary("sriov-controller")
    }

    /// The controller's log lines up to the one saying it is ready (it
    /// listens, answering health NOT_SERVING, before it has loaded its state).
    static func readUntilReady(_ pipe: Pipe) async -> String {
        var text = ""
        for _ in 0..<20 {
            let line = await readLineOffPool(from: pipe)
            if line.isEmpty { break }
            text += line + "\n"
            if line.contains("sriov-controller ready") { break }
        }
        return text
    }

    /// A new empty data directory.
    static func dataDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-controller-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func startsReportsItsAddressServesHealthAndExitsCleanly(signal: Int32) async throws {
        let certs = try CertificateDirectory.shared()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["--data-dir", try Self.dataDirectory(), "--listen", "127.0.0.1:0", "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"), "--tls-ca", certs.path("ca.crt"), "--threads", "1"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = await Self.readUntilReady(err)
        let match = try #require(text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), "\(text)")
        let port = try #require(Int(match.1))
        let tls = certs.clientTLS()
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(tls)))
        let r = try await ch.unary(GrpcHealthV1.Health.check, GrpcHealthV1.HealthCheckRequest(), timeout: .seconds(5))
        #expect(r.status == .serving)
        ch.close()
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
    }

    @Test func sighupReloadsCertificatesAndKeepsServing() async throws {
        let certs = try CertificateDirectory.shared()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["--data-dir", try Self.dataDirectory(), "--listen", "127.0.0.1:0", "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"), "--tls-ca", certs.path("ca.crt")]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let ready = await Self.readUntilReady(err)
        let match = try #require(ready.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), "\(ready)")
        let port = try #require(Int(match.1))
        let tls = certs.clientTLS()
        let before = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(tls)))
        _ = try await before.unary(GrpcHealthV1.Health.check, GrpcHealthV1.HealthCheckRequest(), timeout: .seconds(5))
        kill(p.processIdentifier, SIGHUP)
        let reloaded = await readLineOffPool(from: err)
        #expect(reloaded.contains("reloaded TLS certificate, key and CA"), "\(reloaded)")
        // The old connection and a new one both work.
        _ = try await before.unary(GrpcHealthV1.Health.check, GrpcHealthV1.HealthCheckRequest(), timeout: .seconds(5))
        let after = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(tls)))
        let r = try await after.unary(GrpcHealthV1.Health.check, GrpcHealthV1.HealthCheckRequest(), timeout: .seconds(5))
        #expect(r.status == .serving)
        before.close()
        after.close()
    }

    @Test func aFailedReloadWithReloadFailClosedStopsServingUntilAReloadSucceeds() async throws {
        let certs = try CertificateDirectory.make(["--node", "n1"])
        let serverCA = certs.path("server-ca.pem")
        let ca = try Data(contentsOf: URL(fileURLWithPath: certs.path("ca.crt")))
        try ca.write(to: URL(fileURLWithPath: serverCA))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["--data-dir", try Self.dataDirectory(), "--listen", "127.0.0.1:0", "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"),
                       "--tls-ca", serverCA, "--threads", "1", "--reload-fail-closed", "--trust-domain", "sriov.local"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let ready = await Self.readUntilReady(err)
        let match = try #require(ready.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), "\(ready)")
        let port = try #require(Int(match.1))
        func check() async throws -> GrpcHealthV1.HealthCheckResponse.ServingStatus {
            let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(certs.clientTLS())))
            defer { ch.close() }
            return try await ch.unary(GrpcHealthV1.Health.check, GrpcHealthV1.HealthCheckRequest(), timeout: .seconds(5)).status
        }
        #expect(try await check() == .serving)
        try "broken\n".write(toFile: serverCA, atomically: true, encoding: .utf8)
        kill(p.processIdentifier, SIGHUP)
        #expect(await readLineOffPool(from: err).contains("TLS reload failed"))
        #expect(await readLineOffPool(from: err).contains("not serving"))
        await #expect(throws: RPCError.self) { try await check() }
        try ca.write(to: URL(fileURLWithPath: serverCA))
        kill(p.processIdentifier, SIGHUP)
        #expect(await readLineOffPool(from: err).contains("reloaded TLS certificate"))
        // Serving resumes right after that line is logged.
        var status: GrpcHealthV1.HealthCheckResponse.ServingStatus?
        for _ in 0..<100 where status == nil {
            status = try? await check()
            if status == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(status == .serving)
    }

    @Test func refusesToStartWithoutCertificatesUnlessInsecure() async throws {
        let out = try await ProcessRunner.run(Self.binary, ["--data-dir", try Self.dataDirectory(), "--listen", "127.0.0.1:0"], timeout: .seconds(10))
        #expect(out.status != 0)
        #expect(out.stderr.contains("--tls-cert and --tls-key are required"))
    }

    @Test(arguments: [
        (["--keepalive-interval=-1"], "--keepalive-interval -1 is out of range; expected 0 (off) to 86400 seconds"),
        (["--keepalive-timeout", "0"], "--keepalive-timeout 0 is out of range; expected 1 to 3600 seconds"),
        (["--threads", "0"], "--threads 0 is out of range; expected 1...256"),
        (["--log-level", "loud"], "--log-level loud is not one of"),
        (["--max-connection-age=-5"], "--max-connection-age -5 is out of range"),
        (["--node-state-gc-after", "600"], "--node-state-gc-after 600 is out of range; expected 0 (never) or 900 (3 times --last-seen-refresh"),
        (["--last-seen-refresh", "0"], "--last-seen-refresh 0 is out of range; expected 1 to 86400 seconds"),
        (["--trust-domain", "Sriov.Local"], "--trust-domain \"Sriov.Local\" is not a SPIFFE trust domain: the trust domain must be lower case"),
        (["--trust-domain", "sriov.local:8443"], "is not a SPIFFE trust domain: the trust domain has no port"),
    ])
    func badFlagsAreRefusedByName(flags: [String], message: String) async throws {
        let out = try await ProcessRunner.run(Self.binary, ["--data-dir", try Self.dataDirectory(), "--listen", "127.0.0.1:0", "--insecure-h2c"] + flags, timeout: .seconds(10))
        #expect(out.status != 0)
        #expect(out.stderr.contains(message), "\(out.stderr)")
    }
}
