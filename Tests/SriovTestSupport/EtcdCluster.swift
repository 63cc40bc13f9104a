import Foundation
import Glibc
import SriovGRPC
import SriovSync

/// Real etcd members (Debian's `etcd-server`) on loopback, started by a test
/// and stopped by their PIDs: one member for store contract tests, three
/// for the replica and failure tests. Members use short heartbeat and
/// election timeouts (50 ms, 500 ms) so that a lost leader is replaced
/// quickly.
public final class EtcdCluster: Sendable {
    /// The etcd binary; tests that need etcd are enabled only when it exists.
    public static let binary = "/usr/bin/etcd"
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// One member's addresses and data directory.
    public struct Member: Sendable {
        public let name: String
        public let clientPort: Int
        public let peerPort: Int
        public let dataDir: String
        public var clientTarget: BindTarget { .host("127.0.0.1", port: clientPort) }
        public var clientURL: String { "127.0.0.1:\(clientPort)" }
    }

    /// Certificates for etcd's client port: the members serve `serverCert`
    /// and require client certificates that chain to `ca`
    /// (`--client-cert-auth`); `clientCert` is what the test's own probe
    /// presents.
    public struct TLSFiles: Sendable {
        public var serverCert: String
        public var serverKey: String
        public var ca: String
        public var clientCert: String
        public var clientKey: String

        public init(serverCert: String, serverKey: String, ca: String, clientCert: String, clientKey: String) {
            self.serverCert = serverCert
            self.serverKey = serverKey
            self.ca = ca
            self.clientCert = clientCert
            self.clientKey = clientKey
        }
    }

    public let members: [Member]
    /// TLS on the client port; nil = plaintext.
    public let tls: TLSFiles?
    private let processes: Locked<[Int: pid_t]>
    private let root: URL

    /// Starts `size` members and waits until the cluster answers a write.
    public init(size: Int = 1, tls: TLSFiles? = nil) async throws {
        self.tls = tls
        root = try RepoPaths.temporaryDirectory("etcd")
        var members: [Member] = []
        for i in 0..<size {
            members.append(Member(
                name: "m\(i)", clientPort: try LoopbackSockets.freePort(), peerPort: try LoopbackSockets.freePort(),
                dataDir: root.appendingPathComponent("m\(i)").path))
        }
        self.members = members
        processes = Locked([:])
        for i in 0..<size { try start(i) }
        try await waitHealthy()
    }

    deinit {
        let pids = processes.withLock { Array($0.values) }
        for pid in pids {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(at: root)
    }

    /// `HOST:PORT` of every member, comma-separated (the controller's flag;
    /// `https://HOST:PORT` with TLS).
    public var endpointList: String { members.map { (tls == nil ? "" : "https://") + $0.clientURL }.joined(separator: ",") }
    public var endpoints: [BindTarget] { members.map(\.clientTarget) }

    /// Starts (or restarts, on its data directory) member `index`.
    public func start(_ index: Int) throws {
        let m = members[index]
        let scheme = tls == nil ? "http" : "https"
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = [
            "--name", m.name, "--data-dir", m.dataDir,
            "--listen-client-urls", "\(scheme)://127.0.0.1:\(m.clientPort)", "--advertise-client-urls", "\(scheme)://127.0.0.1:\(m.clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(m.peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(m.peerPort)",
            "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", root.lastPathComponent,
            "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "error",
        ]
        if let tls {
            p.arguments! += ["--cert-file", tls.serverCert, "--key-file", tls.serverKey, "--trusted-ca-file", tls.ca, "--client-cert-auth"]
        }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        processes.withLock { $0[index] = pid }
    }

    /// Kills member `index` with SIGKILL (by its PID) and reaps it.
    public func kill(_ index: Int) {
        guard let pid = processes.withLock({ $0.removeValue(forKey: index) }) else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Whether member `index` runs.
    public func isRunning(_ index: Int) -> Bool { processes.withLock { $0[index] != nil } }

    /// Waits (up to `timeout`) until a put through any running member
    /// succeeds.
    public func waitHealthy(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError = "no attempt"
        while ContinuousClock.now < deadline {
            for (i, m) in members.enumerated() where isRunning(i) {
                let security: ClientConfiguration.Security = tls.map {
                    .tls(TLSConfiguration(certificatePath: $0.clientCert, privateKeyPath: $0.clientKey, trustRootsPath: $0.ca))
                } ?? .insecurePlaintext
                let ch = try GRPCChannel(configuration: ClientConfiguration(target: m.clientTarget, security: security))
                defer { ch.close() }
                do {
                    // PutRequest{key: "/health-probe", value: ""}.
                    let key = Array("/health-probe".utf8)
                    _ = try await ch.unaryRaw(path: "/etcdserverpb.KV/Put", [0x0A, UInt8(key.count)] + key, timeout: .seconds(2))
                    return
                } catch {
                    lastError = "\(error)"
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw EtcdClusterError(message: "etcd did not become healthy within \(timeout): \(lastError)")
    }
}

/// The test cluster could not be started.
public struct EtcdClusterError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
