import Foundation
import SriovGRPC
import SriovProto
import SriovSync
import SriovTestSupport
import Testing

/// What survives: a restart with the same data directory keeps everything,
/// and after `kill -9` at random moments under write load every
/// acknowledged write is there, nothing unacknowledged is half-applied, and
/// SQLite's integrity check passes.
@Suite(.timeLimit(.minutes(5)), .serialized)
struct DurabilityTests {
    @Test func restartWithTheSameDataDirectoryKeepsEverything() async throws {
        let c = try ControllerProcess()
        try await c.start()
        var op = try c.channel("operator-admin")
        let node = try c.channel("node-worker-0")
        try await node.sendInventory([Objects.inventory("worker-0")])
        node.close()
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("p1", numVfs: 3)
        let policy = try await op.unary(Op.applyPolicy, apply).policy
        var net = SriovV1.ApplyNetworkRequest()
        net.network = Objects.network("n1")
        _ = try await op.unary(Op.applyNetwork, net)
        var get = SriovV1.GetRequest()
        get.name = "worker-0"
        let before = try await op.unary(Op.getNodeState, get)
        op.close()
        #expect(c.stop(signal: SIGTERM) == 0)

        try await c.start()
        op = try c.channel("operator-admin")
        defer { op.close() }
        var getPolicy = SriovV1.GetRequest()
        getPolicy.name = "p1"
        #expect(try await op.unary(Op.getPolicy, getPolicy) == policy)
        let after = try await op.unary(Op.getNodeState, get)
        // The same spec, generation and version: the restart re-rendered
        // without changing anything.
        #expect(after == before)
        #expect(try await op.unary(Op.listRendered, SriovV1.ListRequest()).items.count == 2)
        // Health says SERVING for both services.
        var check = GrpcHealthV1.HealthCheckRequest()
        check.service = "sriov.v1.Operator"
        #expect(try await op.unary(GrpcHealthV1.Health.check, check).status == .serving)
    }

    enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, etcd
        var testDescription: String { rawValue }
        static var available: [Backend] { EtcdCluster.available ? allCases : [.sqlite] }
    }

    @Test(arguments: Backend.available)
    func everyAcknowledgedWriteSurvivesKillNine(_ backend: Backend) async throws {
        // etcd: the same kills of the controller, on one etcd member that
        // lives through them.
        let cluster = backend == .etcd ? try await EtcdCluster(size: 1) : nil
        let c = try cluster.map { try ControllerProcess.onEtcd($0, prefix: "/durability/") } ?? ControllerProcess()
        var rng = SplitMix64(seed: 0x5EED)
        let writes = Acknowledged()
        for round in 0...10 {
            try await c.start()
            let op = try c.channel("operator-admin")
            // Previous rounds' acknowledged writes are all there.
            var seen: [String: Int32] = [:]
            var list = SriovV1.ListRequest()
            list.pageSize = 1000
            repeat {
                let page = try await op.unary(Op.listNetworks, list)
                for n in page.items {
                    // Never half-applied: a stored network is exactly one that was sent.
                    #expect(n.spec.resourceName == "res-\(n.spec.vlan)", "\(n)")
                    seen[n.metadata.name] = n.spec.vlan
                }
                list.pageToken = page.nextPageToken
            } while !list.pageToken.isEmpty
            writes.check(seen, round: round)
            if round == 10 {
                op.close()
                c.stop()
                break
            }
            // A bounded write load: 8 writers, until the kill.
            let killAfter = Duration.milliseconds(Int64(50 + rng.next() % 300))
            let currentRound = round
            let writers = Task { [op, writes] in
                await withTaskGroup(of: Void.self) { group in
                    for w in 0..<8 {
                        group.addTask {
                            for i in 0..<400 {
                                let name = "r\(currentRound)-w\(w)-\(i % 20)"
                                let vlan = Int32(1 + (currentRound * 400 + i) % 4000)
                                var a = SriovV1.ApplyNetworkRequest()
                                a.network = Objects.network(name, resource: "res-\(vlan)", vlan: vlan)
                                writes.attempt(name, vlan)
                                do {
                                    _ = try await op.unary(Op.applyNetwork, a, timeout: .seconds(5))
                                    writes.acknowledge(name, vlan)
                                } catch {
                                    return
                                }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: killAfter)
            c.stop(signal: SIGKILL)
            await writers.value
            op.close()
            guard backend == .sqlite else { continue }
            let check = try TestProcess.run("/usr/bin/env", [
                "python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
                c.dataDir + "/sriov.db",
            ])
            #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "round \(round): \(check.output)")
        }
        // Ten kills, each followed by the check above.
        #expect(writes.acknowledged.count > 50, "the load acknowledged only \(writes.acknowledged.count) names")
    }

    @Test func startupRefusesWhatItCannotUseInOneLine() async throws {
        let certs = try TestCertificates.shared.get()
        func run(_ dataDir: String) throws -> TestProcess.Result {
            try TestProcess.run(ControllerProcess.binary, [
                "--listen", "127.0.0.1:0", "--data-dir", dataDir,
                "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"), "--tls-ca", certs.path("ca.crt"),
            ], timeout: 30)
        }
        let missing = try run("/nonexistent/sriov")
        #expect(missing.status != 0 && missing.stderr.contains("data directory /nonexistent/sriov: No such file or directory"), "\(missing.output)")
        #expect(missing.stderr.split(separator: "\n").count == 1)

        let garbage = try RepoPaths.temporaryDirectory()
        let junk = Data(repeating: 0x42, count: 8192)
        try junk.write(to: garbage.appendingPathComponent("sriov.db"))
        let corrupt = try run(garbage.path)
        #expect(corrupt.status != 0 && corrupt.stderr.contains("sriov.db"), "\(corrupt.output)")
        #expect(try Data(contentsOf: garbage.appendingPathComponent("sriov.db")) == junk)

        let newer = try RepoPaths.temporaryDirectory()
        let c = try ControllerProcess(dataDir: newer.path)
        try await c.start()
        c.stop()
        _ = try TestProcess.run("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=7'); c.commit()", newer.path + "/sriov.db"])
        let future = try run(newer.path)
        #expect(future.status != 0 && future.stderr.contains("schema version 7"), "\(future.output)")

        // A certificate that is not the controller's own.
        for (cert, says) in [("node-worker-0", "it is a client certificate"), ("ca", "is a CA certificate")] {
            let r = try TestProcess.run(ControllerProcess.binary, [
                "--listen", "127.0.0.1:0", "--data-dir", try RepoPaths.temporaryDirectory().path,
                "--tls-cert", certs.path("\(cert).crt"), "--tls-key", certs.path("\(cert).key"), "--tls-ca", certs.path("ca.crt"),
            ], timeout: 30)
            #expect(r.status != 0 && r.stderr.contains(says) && r.stderr.split(separator: "\n").count == 1, "\(r.output)")
        }

        let env = try TestProcess.run(ControllerProcess.binary, ["--insecure-h2c"], environment: ["SRIOV_CONTROLLER_DATA_DIRR": "/tmp"], timeout: 30)
        #expect(env.status != 0 && env.stderr.contains("SRIOV_CONTROLLER_DATA_DIRR names no option"), "\(env.output)")
    }

    @Test func environmentVariablesSetOptionsAndMetricsAreServed() async throws {
        let certs = try TestCertificates.shared.get()
        let data = try RepoPaths.temporaryDirectory()
        let log = data.appendingPathComponent("log").path
        FileManager.default.createFile(atPath: log, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ControllerProcess.binary)
        p.arguments = ["--log-format", "json"]
        p.environment = [
            "SRIOV_CONTROLLER_DATA_DIR": data.path, "SRIOV_CONTROLLER_LISTEN": "127.0.0.1:0",
            "SRIOV_CONTROLLER_TLS_CERT": certs.path("controller.crt"), "SRIOV_CONTROLLER_TLS_KEY": certs.path("controller.key"),
            "SRIOV_CONTROLLER_TLS_CA": certs.path("ca.crt"), "SRIOV_CONTROLLER_METRICS_LISTEN": "127.0.0.1:0",
            "SRIOV_CONTROLLER_LOG_FORMAT": "text",
        ]
        p.standardError = FileHandle(forWritingAtPath: log)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        var text = ""
        for _ in 0..<500 {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("sriov-controller ready") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        // The flag wins over the environment: JSON lines.
        #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("{\"ts\":") }, "\(text)")
        let metricsPort = try #require(text.firstMatch(of: /127\.0\.0\.1:(\d+)\/metrics/).flatMap { Int($0.1) }, "\(text)")
        let port = try #require(text.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .tls(certs.client("viewer-view"))))
        defer { ch.close() }
        _ = try await ch.unary(Op.listPolicies, SriovV1.ListRequest())
        let scrape = try TestProcess.run("/usr/bin/env", ["python3", "-c", """
            import urllib.request,sys
            print(urllib.request.urlopen('http://127.0.0.1:%s/metrics' % sys.argv[1]).read().decode())
            """, String(metricsPort)])
        for name in ["sriov_connected_agents", "sriov_node_states{sync_status=\"Succeeded\"}", "sriov_rpc_requests_total{method=\"ListPolicies\",code=\"OK\"} 1",
                     "sriov_rpc_duration_seconds_bucket", "sriov_store_commit_duration_seconds", "sriov_render_duration_seconds", "sriov_config_push_latency_seconds"] {
            #expect(scrape.stdout.contains(name), "\(name) missing from \(scrape.output.prefix(2000))")
        }
    }
}

/// The writes of the load: every attempt in order per name, and the last
/// one the server acknowledged.
final class Acknowledged: Sendable {
    private struct State {
        var attempts: [String: [Int32]] = [:]
        var acknowledged: [String: Int32] = [:]
    }
    private let state = Locked(State())

    func attempt(_ name: String, _ vlan: Int32) { state.withLock { $0.attempts[name, default: []].append(vlan) } }
    func acknowledge(_ name: String, _ vlan: Int32) { state.withLock { $0.acknowledged[name] = vlan } }
    var acknowledged: [String: Int32] { state.withLock { $0.acknowledged } }

    /// Every acknowledged name is stored with its acknowledged value or one
    /// attempted after it (durable, but the kill came before the answer);
    /// every stored name was attempted.
    func check(_ stored: [String: Int32], round: Int) {
        state.withLock { s in
            for (name, vlan) in stored {
                let tries = s.attempts[name] ?? []
                #expect(tries.contains(vlan), "round \(round): \(name) stored with vlan \(vlan), never sent")
            }
            for (name, vlan) in s.acknowledged {
                let tries = s.attempts[name] ?? []
                let acked = tries.lastIndex(of: vlan) ?? 0
                let ok = stored[name].map { v in tries[acked...].contains(v) } ?? false
                #expect(ok, "round \(round): acknowledged \(name) vlan \(vlan), stored \(String(describing: stored[name]))")
            }
        }
    }
}
