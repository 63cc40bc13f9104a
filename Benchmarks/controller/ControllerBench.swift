import Foundation
import SriovGRPC
import SriovProto
import Synchronization

/// Load tools for `sriov-controller` (driven by `Benchmarks/controller/run.sh`):
///
///     sriov-controller-bench certs  DIR COUNT
///     sriov-controller-bench fanout HOST:PORT DIR COUNT PID
///     sriov-controller-bench writes HOST:PORT DIR CONCURRENCY SECONDS
///     sriov-controller-bench etcd-writes HOST:PORT CONCURRENCY SECONDS SIZE
///     sriov-controller-bench reads  HOST:PORT DIR COUNT PID SECONDS
///
/// `certs` makes COUNT node certificates `node-bench-NNNNN` in DIR (which
/// holds the development CA from certs/make-certs.sh). `fanout` holds COUNT
/// agents (each its own certificate, an open StreamInventory and a
/// WatchConfig stream), applies one policy that changes every node, and
/// prints the time until each agent holds the new generation (p50, p99,
/// max), the controller's RSS per agent and its CPU time. `writes` runs
/// CONCURRENCY clients doing ApplyPolicy (each a new version of its own
/// policy, selecting no node) and prints acknowledged writes/s; `etcd-writes`
/// does etcd KV Puts of SIZE bytes over h2c the same way. `reads` reports
/// COUNT nodes with 8 PFs each, then prints GetNodeState/s, the time of a
/// full ListNodeStates and the controller's RSS.
@main
struct ControllerBench {
    static func main() async throws {
        let a = CommandLine.arguments
        guard a.count >= 3 else { usage() }
        do {
            switch a[1] {
            case "certs":
                let count = Int(a[3]) ?? 0
                let clock = ContinuousClock()
                let start = clock.now
                try NodeCertificates.make(directory: a[2], names: (0..<count).map(nodeName))
                print("certs \(count) in \(clock.now - start)")
            case "fanout": try await fanout(target: a[2], dir: a[3], count: Int(a[4]) ?? 100, pid: Int32(a[5]) ?? 0)
            case "writes": try await writes(target: a[2], dir: a[3], concurrency: Int(a[4]) ?? 1, seconds: Double(a[5]) ?? 5)
            case "etcd-writes": try await etcdWrites(target: a[2], concurrency: Int(a[3]) ?? 1, seconds: Double(a[4]) ?? 5, size: Int(a[5]) ?? 300)
            case "reads": try await reads(target: a[2], dir: a[3], count: Int(a[4]) ?? 100, pid: Int32(a[5]) ?? 0, seconds: Double(a[6]) ?? 5)
            default: usage()
            }
        } catch {
            FileHandle.standardError.write(Data("sriov-controller-bench: \(error)\n".utf8))
            exit(1)
        }
    }

    static func usage() -> Never {
        FileHandle.standardError.write(Data("usage: sriov-controller-bench certs|fanout|writes|etcd-writes|reads ...\n".utf8))
        exit(2)
    }

    static func nodeName(_ i: Int) -> String { String(format: "bench-%05d", i) }

    static func channel(_ target: String, _ dir: String, _ identity: String) throws -> GRPCChannel {
        let tls = TLSConfiguration(certificatePath: "\(dir)/\(identity).crt", privateKeyPath: "\(dir)/\(identity).key", trustRootsPath: "\(dir)/ca.crt")
        return try GRPCChannel(configuration: ClientConfiguration(target: try BindTarget(parsing: target), security: .tls(tls)))
    }

    // MARK: - process statistics

    /// Resident set size of a process in KiB.
    static func rssKiB(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// User + system CPU seconds of a process.
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields after the command: state is 0, utime 11, stime 12.
        guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func percentile(_ sorted: [Duration], _ p: Double) -> Duration {
        guard !sorted.isEmpty else { return .zero }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    static func ms(_ d: Duration) -> String {
        let c = d.components
        return String(format: "%.1f ms", Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15)
    }

    // MARK: - fan-out

    static func inventory(_ name: String, pfs: Int, labels: [String: String]) -> SriovV1.InventoryReport {
        var r = SriovV1.InventoryReport()
        r.nodeName = name
        r.labels = labels
        r.sequence = 1
        r.interfaces = (0..<pfs).map { i in
            var pf = SriovV1.InterfaceExt()
            pf.name = "ens\(i / 2 + 1)f\(i % 2)"
            pf.pciAddress = String(format: "0000:%02x:00.%d", 0x86 + i / 2, i % 2)
            pf.vendor = "8086"
            pf.deviceID = "1583"
            pf.driver = "i40e"
            pf.totalvfs = 64
            pf.mtu = 1500
            pf.linkType = "ETH"
            pf.linkSpeed = "40000 Mb/s"
            pf.mac = String(format: "3c:fd:fe:%02x:%02x:%02x", i, (name.hashValue >> 8) & 0xFF, name.hashValue & 0xFF)
            return pf
        }
        return r
    }

    final class FanoutState: Sendable {
        let ready = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let arrivals = Mutex<[Int: ContinuousClock.Instant]>([:])
        let target = Atomic<Int64>(Int64.max)
        let stop = Atomic<Bool>(false)
    }

    static func fanout(target: String, dir: String, count: Int, pid: Int32) async throws {
        // TARGET may list several replicas (A,B,C): agents connect to them
        // round-robin, and the policy is applied through the first.
        let targets = target.split(separator: ",").map(String.init)
        let names = (0..<count).map(nodeName)
        let baseRSS = rssKiB(pid)
        let state = FanoutState()
        let clock = ContinuousClock()
        let connectStart = clock.now
        let labels = ["bench": "fanout"]
        // One task per agent: WatchConfig, and StreamInventory held open.
        let agents = Task {
            await withTaskGroup(of: Void.self) { group in
                for (i, name) in names.enumerated() {
                    // Bound concurrent handshakes.
                    if i >= 200 {
                        while state.ready.load(ordering: .relaxed) + state.failed.load(ordering: .relaxed) < i - 200 {
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    group.addTask {
                        do {
                            let ch = try channel(targets[i % targets.count], dir, "node-\(name)")
                            defer { ch.close() }
                            async let held: Void = {
                                _ = try await ch.clientStreaming(SriovV1.Agent.streamInventory, waitForReady: true) { w in
                                    try await w.write(inventory(name, pfs: 1, labels: labels))
                                    while !state.stop.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(200)) }
                                }
                            }()
                            var req = SriovV1.WatchConfigRequest()
                            req.nodeName = name
                            try await ch.serverStreaming(SriovV1.Agent.watchConfig, req, waitForReady: true) { stream in
                                var first = true
                                for try await config in stream {
                                    if first {
                                        first = false
                                        state.ready.add(1, ordering: .relaxed)
                                    }
                                    if config.generation >= state.target.load(ordering: .relaxed) && !config.spec.interfaces.isEmpty {
                                        let now = clock.now
                                        state.arrivals.withLock { $0[i] = now }
                                    }
                                    if state.stop.load(ordering: .relaxed) { return }
                                }
                            }
                            try await held
                        } catch {
                            if !state.stop.load(ordering: .relaxed) { state.failed.add(1, ordering: .relaxed) }
                        }
                    }
                }
            }
        }
        let op = try channel(targets[0], dir, "operator-admin")
        defer { op.close() }
        // All streams open and every node's inventory stored.
        var stored = 0
        let deadline = clock.now + .seconds(600)
        while clock.now < deadline {
            var list = SriovV1.ListRequest()
            list.labelSelector = "bench=fanout"
            list.pageSize = 1000
            stored = 0
            repeat {
                let page = try await op.unary(SriovV1.Operator.listNodeStates, list, timeout: .seconds(30))
                stored += page.items.count
                list.pageToken = page.nextPageToken
            } while !list.pageToken.isEmpty
            if stored >= count && state.ready.load(ordering: .relaxed) >= count { break }
            if state.failed.load(ordering: .relaxed) > 0 && state.ready.load(ordering: .relaxed) + state.failed.load(ordering: .relaxed) >= count { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let connected = state.ready.load(ordering: .relaxed)
        print("agents connected \(connected)/\(count) (failed \(state.failed.load(ordering: .relaxed))), nodes stored \(stored), in \(clock.now - connectStart)")
        // Let the connections settle: the controller gives memory freed by
        // the handshakes back to the system within about 5 s.
        try await Task.sleep(for: .seconds(7))
        let connectedRSS = rssKiB(pid)
        let cpuBefore = cpuSeconds(pid)

        // One policy that changes every node.
        var get = SriovV1.GetRequest()
        get.name = names[0]
        let generation = try await op.unary(SriovV1.Operator.getNodeState, get).metadata.generation
        state.target.store(generation + 1, ordering: .relaxed)
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy.metadata.name = "fanout-\(getpid())-\(Int(Date().timeIntervalSince1970))"
        apply.policy.spec.resourceName = "fanout"
        apply.policy.spec.nodeSelector = labels
        apply.policy.spec.numVfs = 4
        apply.policy.spec.nicSelector.pfNames = ["ens1f0"]
        let t0 = clock.now
        let response = try await op.unary(SriovV1.Operator.applyPolicy, apply, timeout: .seconds(120))
        let acked = clock.now - t0
        let waitUntil = clock.now + .seconds(120)
        while clock.now < waitUntil && state.arrivals.withLock({ $0.count }) < connected {
            try await Task.sleep(for: .milliseconds(5))
        }
        let arrivals = state.arrivals.withLock { $0.values.map { $0 - t0 } }.sorted()
        let cpuAfter = cpuSeconds(pid)
        let finalRSS = rssKiB(pid)
        print("apply acknowledged in \(ms(acked)); affected nodes \(response.affectedNodes.count)")
        print("agents holding the new generation: \(arrivals.count)/\(connected)")
        print("time to new generation: p50 \(ms(percentile(arrivals, 0.5))), p99 \(ms(percentile(arrivals, 0.99))), max \(ms(arrivals.last ?? .zero))")
        let perAgent = connected > 0 ? Double(connectedRSS - baseRSS) / Double(connected) : 0
        print(String(format: "controller RSS: %d KiB before agents, %d KiB with %d agents (%.1f KiB per agent), %d KiB after the push",
                     baseRSS, connectedRSS, connected, perAgent, finalRSS))
        print(String(format: "controller CPU during the push: %.2f s", cpuAfter - cpuBefore))
        state.stop.store(true, ordering: .relaxed)
        agents.cancel()
        // Clean up the policy so that the next run starts from the same state.
        var del = SriovV1.DeleteRequest()
        del.name = apply.policy.metadata.name
        _ = try? await op.unary(SriovV1.Operator.deletePolicy, del, timeout: .seconds(120))
    }

    // MARK: - writes

    static func writes(target: String, dir: String, concurrency: Int, seconds: Double) async throws {
        // TARGET may list several replicas (A,B,C): channels go round-robin.
        let targets = target.split(separator: ",").map(String.init)
        let channels = try (0..<max(targets.count, min(concurrency, 8))).map { i in try channel(targets[i % targets.count], dir, "operator-admin") }
        defer { channels.forEach { $0.close() } }
        let counts = Counts()
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int64(seconds * 1000))
        let start = clock.now
        let tag = "\(getpid())"
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<concurrency {
                let ch = channels[w % channels.count]
                group.addTask {
                    var i = 0
                    while clock.now < end {
                        var a = SriovV1.ApplyPolicyRequest()
                        a.policy.metadata.name = "w\(tag)-\(w)"
                        a.policy.spec.resourceName = "bench"
                        a.policy.spec.nodeSelector = ["bench-writes": "none"]
                        a.policy.spec.numVfs = Int32(1 + i % 32)
                        a.policy.spec.nicSelector.vendor = "8086"
                        i += 1
                        do {
                            _ = try await ch.unary(SriovV1.Operator.applyPolicy, a, timeout: .seconds(30))
                            counts.done.add(1, ordering: .relaxed)
                        } catch {
                            counts.errors.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        let elapsed = clock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "controller ApplyPolicy: concurrency %d: %.0f acknowledged writes/s (%d writes, %d errors)",
                     concurrency, Double(counts.done.load(ordering: .relaxed)) / secs, counts.done.load(ordering: .relaxed), counts.errors.load(ordering: .relaxed)))
        // Remove the policies again.
        for w in 0..<concurrency {
            var d = SriovV1.DeleteRequest()
            d.name = "w\(tag)-\(w)"
            _ = try? await channels[0].unary(SriovV1.Operator.deletePolicy, d, timeout: .seconds(30))
        }
    }

    /// A protobuf length-delimited field.
    static func bytesField(_ number: UInt8, _ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [number << 3 | 2]
        var n = value.count
        repeat {
            var b = UInt8(n & 0x7F)
            n >>= 7
            if n > 0 { b |= 0x80 }
            out.append(b)
        } while n > 0
        return out + value
    }

    static func etcdWrites(target: String, concurrency: Int, seconds: Double, size: Int) async throws {
        let config = ClientConfiguration(target: try BindTarget(parsing: target), security: .insecurePlaintext)
        let channels = try (0..<max(1, min(concurrency, 8))).map { _ in try GRPCChannel(configuration: config) }
        defer { channels.forEach { $0.close() } }
        let value = [UInt8](repeating: 0x61, count: size)
        // Wait for a leader.
        for _ in 0..<100 {
            if (try? await channels[0].unaryRaw(path: "/etcdserverpb.KV/Put", bytesField(1, Array("warmup".utf8)) + bytesField(2, value), timeout: .seconds(2))) != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let counts = Counts()
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(Int64(seconds * 1000))
        let start = clock.now
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<concurrency {
                let ch = channels[w % channels.count]
                group.addTask {
                    let key = Array("/sriov/policies/sriov-network-operator/w-\(w)".utf8)
                    while clock.now < end {
                        do {
                            _ = try await ch.unaryRaw(path: "/etcdserverpb.KV/Put", bytesField(1, key) + bytesField(2, value), timeout: .seconds(30))
                            counts.done.add(1, ordering: .relaxed)
                        } catch {
                            counts.errors.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        let elapsed = clock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "etcd Put %d B: concurrency %d: %.0f acknowledged writes/s (%d writes, %d errors)",
                     size, concurrency, Double(counts.done.load(ordering: .relaxed)) / secs, counts.done.load(ordering: .relaxed), counts.errors.load(ordering: .relaxed)))
    }

    // MARK: - reads

    static func reads(target: String, dir: String, count: Int, pid: Int32, seconds: Double) async throws {
        let names = (0..<count).map(nodeName)
        let clock = ContinuousClock()
        let start = clock.now
        // Report every node's inventory (8 PFs each), 32 at a time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, name) in names.enumerated() {
                if i >= 32 { try await group.next() }
                group.addTask {
                    let ch = try channel(target, dir, "node-\(name)")
                    defer { ch.close() }
                    _ = try await ch.clientStreaming(SriovV1.Agent.streamInventory, timeout: .seconds(60), waitForReady: true) { w in
                        try await w.write(inventory(name, pfs: 8, labels: ["bench": "reads"]))
                    }
                }
            }
            try await group.waitForAll()
        }
        print("reported \(count) nodes x 8 PFs in \(clock.now - start)")
        let op = try channel(target, dir, "viewer-view")
        defer { op.close() }
        let counts = Counts()
        let end = clock.now + .milliseconds(Int64(seconds * 1000))
        let readStart = clock.now
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<32 {
                group.addTask {
                    var i = w
                    while clock.now < end {
                        var g = SriovV1.GetRequest()
                        g.name = names[i % names.count]
                        i += 32
                        if (try? await op.unary(SriovV1.Operator.getNodeState, g, timeout: .seconds(10))) != nil {
                            counts.done.add(1, ordering: .relaxed)
                        }
                    }
                }
            }
        }
        let elapsed = clock.now - readStart
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "GetNodeState: %.0f/s (32 concurrent calls on one connection)", Double(counts.done.load(ordering: .relaxed)) / secs))
        var times: [Duration] = []
        for _ in 0..<5 {
            let t = clock.now
            var list = SriovV1.ListRequest()
            list.pageSize = 1000
            var n = 0
            repeat {
                let page = try await op.unary(SriovV1.Operator.listNodeStates, list, timeout: .seconds(60))
                n += page.items.count
                list.pageToken = page.nextPageToken
            } while !list.pageToken.isEmpty
            times.append(clock.now - t)
            if n < count { print("ListNodeStates returned \(n) of \(count)") }
        }
        times.sort()
        print("ListNodeStates of \(count) nodes (pages of 1000): median \(ms(times[2])), best \(ms(times[0]))")
        print("controller RSS with \(count) nodes x 8 PFs stored: \(rssKiB(pid)) KiB")
    }
}

/// Counters shared by a benchmark's tasks.
final class Counts: Sendable {
    let done = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
}
