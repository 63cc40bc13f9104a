import Foundation
import Logging
import SriovGRPC

/// A server on 127.0.0.1:0 with freshly generated certificates in a temp
/// directory, and channels to it. Reusable by tests of anything served
/// over SriovGRPC.
public final class LoopbackHarness: Sendable {
    public let certs: CertificateDirectory
    public let server: GRPCServer
    public let port: Int
    /// What the server logged.
    public let log = RecordingLogHandler.Box()

    /// Starts a server with `routes`. `security` defaults to mutual TLS
    /// with the generated controller certificate (`serverIdentity`, a
    /// certificate base name), trusting `trustRoots` (default `ca.crt`).
    public init(routes: [ServerRoute], clientAuth: TLSConfiguration.ClientAuth = .required, plaintext: Bool = false,
         limits: ServerConfiguration.Limits = .defaults, compression: ServerConfiguration.Compression = .defaults,
         certs: CertificateDirectory? = nil, port requestedPort: Int = 0, serverIdentity: String = "controller",
         trustRoots: String? = nil, trustDomain: String = "sriov.local", crlPath: String? = nil) throws {
        let certs = try certs ?? CertificateDirectory.shared()
        self.certs = certs
        let security: ServerConfiguration.Security = plaintext ? .insecurePlaintext : .tls(TLSConfiguration(
            certificatePath: certs.path("\(serverIdentity).crt"), privateKeyPath: certs.path("\(serverIdentity).key"),
            trustRootsPath: trustRoots ?? certs.path("ca.crt"), clientAuth: clientAuth, trustDomain: trustDomain, crlPath: crlPath))
        let box = log
        let logger = Logger(label: "test-server") { _ in RecordingLogHandler(box: box) }
        server = try GRPCServer(
            configuration: ServerConfiguration(target: .host("127.0.0.1", port: requestedPort), security: security, threads: 2, limits: limits,
                                               compression: compression),
            routes: routes, logger: logger)
        port = try server.start()
    }

    /// A channel presenting `identity` (a certificate base name such as
    /// `node-n1`), or none.
    public func channel(identity: String? = "node-n1", host: String = "127.0.0.1", serverName: String? = nil, plaintext: Bool = false,
                 trustRoots: String? = nil, port: Int? = nil, configure: (inout ClientConfiguration) -> Void = { _ in }) throws -> GRPCChannel {
        var config: ClientConfiguration
        if plaintext {
            config = ClientConfiguration(target: .host(host, port: port ?? self.port), security: .insecurePlaintext)
        } else {
            let tls = certs.clientTLS(identity: identity, trustRoots: trustRoots)
            config = ClientConfiguration(target: .host(host, port: port ?? self.port), security: .tls(tls, serverName: serverName))
        }
        configure(&config)
        return try GRPCChannel(configuration: config)
    }

    public func stop() async { await server.shutdown(gracePeriod: .seconds(2)) }

    /// A harness a test dropped without `stop()` still shuts its server
    /// down: the task keeps the server alive until its loops have stopped,
    /// so no connection can reach a released server.
    deinit {
        let server = server
        Task { await server.shutdown(gracePeriod: .zero) }
    }
}

/// A directory of certificates made by `certs/make-certs.sh`.
public struct CertificateDirectory: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func path(_ name: String) -> String { directory + "/" + name }

    /// Client TLS presenting `identity` (a certificate base name such as
    /// `node-n1`; nil for none), trusting `trustRoots` (default this CA).
    public func clientTLS(identity: String? = "node-n1", trustRoots: String? = nil) -> TLSConfiguration {
        TLSConfiguration(
            certificatePath: identity.map { path("\($0).crt") }, privateKeyPath: identity.map { path("\($0).key") },
            trustRootsPath: trustRoots ?? path("ca.crt"))
    }

    public static var repoRoot: String { RepoPaths.root.path }

    /// Generates certificates into a new temporary directory.
    public static func make(_ args: [String] = []) throws -> CertificateDirectory {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-grpc-certs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [repoRoot + "/certs/make-certs.sh", dir] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw RPCError(code: .internal, message: "certs/make-certs.sh failed with status \(p.terminationStatus)")
        }
        return CertificateDirectory(directory: dir)
    }

    private static let cached: Result<CertificateDirectory, any Error> = Result {
        try make(["--node", "n1", "--operator", "op", "--expired", "node/old"])
    }

    /// One directory shared by the tests of this process.
    public static func shared() throws -> CertificateDirectory { try cached.get() }
}

/// Polls `condition` every 20 ms for up to `limit`; its last value.
public func eventually(_ limit: Duration = .seconds(10), _ condition: () -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + limit
    while ContinuousClock.now < end {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Polls an asynchronous `condition` (an RPC, a store read) every 50 ms for
/// up to `limit`; its last value.
public func eventually(_ limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + limit
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
