// `sriov-agent-bench e2e`: the client side of Benchmarks/agent-e2e/run.sh.
// With a real sriov-controller and a real sriov-agent (on a simulated E810)
// already running, it times a policy apply at the controller until the
// node state's `Succeeded` for the new generation arrives through
// WatchNodeStates, then samples the idle agent's CPU time and RSS.
import Foundation
import Glibc
import SriovGRPC
import SriovProto
import Synchronization

/// Every node-state event of one node with its arrival time.
final class NodeStateLog: Sendable {
    let events = Mutex<[(ContinuousClock.Instant, SriovV1.SriovNetworkNodeState)]>([])
    let live = Atomic<Bool>(false)

    /// The arrival time and state of the first event after `index` that
    /// satisfies `condition`, waiting up to `limit`.
    func first(after index: Int, within limit: Duration,
               _ condition: (SriovV1.SriovNetworkNodeState) -> Bool) async throws -> (ContinuousClock.Instant, SriovV1.SriovNetworkNodeState) {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if let hit = events.withLock({ $0.dropFirst(index).first { condition($0.1) } }) { return hit }
            try await Task.sleep(for: .microseconds(200))
        }
        throw BenchError("no matching node state within \(limit); last: \(events.withLock { $0.last.map { "\($0.1.status.syncStatus)@\($0.1.status.observedGeneration)/\($0.1.metadata.generation)" } ?? "none" })")
    }

    var count: Int { events.withLock { $0.count } }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A policy for the simulated E810's first port: 64 VFs of `deviceType`
/// (netdevice ones with MTU 9000).
func benchPolicy(deviceType: String) -> SriovV1.SriovNetworkNodePolicy {
    var p = SriovV1.SriovNetworkNodePolicy()
    p.metadata.name = "bench"
    p.spec.resourceName = "benchnics"
    p.spec.nodeSelector = ["sriov": "true"]
    p.spec.numVfs = 64
    p.spec.nicSelector.vendor = "8086"
    p.spec.nicSelector.pfNames = ["ens1f0"]
    p.spec.deviceType = deviceType
    if deviceType == "netdevice" { p.spec.mtu = 9000 }
    return p
}

/// CPU seconds (user + system) and RSS in KiB of a process, from /proc.
func processUsage(_ pid: Int32) throws -> (cpu: Double, rssKiB: Int) {
    func read(_ path: String) throws -> String {
        guard let f = fopen(path, "r") else { throw BenchError("cannot read \(path)") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
    let stat = try read("/proc/\(pid)/stat")
    // Fields after the command name (which may hold spaces) in parentheses.
    guard let close = stat.lastIndex(of: ")") else { throw BenchError("unexpected /proc/\(pid)/stat") }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after ")".
    guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else {
        throw BenchError("unexpected /proc/\(pid)/stat")
    }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let status = try read("/proc/\(pid)/status")
    let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    let rss = Int(rssLine.split(separator: " ").dropFirst().first ?? "") ?? -1
    return ((utime + stime) / ticks, rss)
}

func percentile(_ sorted: [Duration], _ p: Double) -> Duration {
    sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func milliseconds(_ d: Duration) -> String {
    let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    return String(format: "%.1f ms", ms)
}

/// `e2e HOST:PORT CERT-DIR AGENT-PID [RUNS] [IDLE-SECONDS]`.
func endToEndBenchmark(target: String, certs: String, agentPID: Int32, runs: Int, idleSeconds: Int) async throws {
    let parts = target.split(separator: ":")
    guard parts.count == 2, let port = Int(parts[1]) else { throw BenchError("\(target) is not HOST:PORT") }
    let tls = TLSConfiguration(certificatePath: certs + "/operator-bench.crt", privateKeyPath: certs + "/operator-bench.key", trustRootsPath: certs + "/ca.crt")
    let op = try GRPCChannel(configuration: ClientConfiguration(target: .host(String(parts[0]), port: port), security: .tls(tls)))
    defer { op.close() }

    let log = NodeStateLog()
    var watch = SriovV1.WatchRequest()
    watch.name = "n1"
    let watcher = Task {
        try await op.serverStreaming(SriovV1.Operator.watchNodeStates, watch, timeout: .seconds(86_400)) { stream in
            for try await event in stream {
                if event.type == .bookmark { log.live.store(true, ordering: .releasing) }
                if event.type == .added || event.type == .modified { log.events.withLock { $0.append((.now, event.nodeState)) } }
            }
        }
    }
    defer { watcher.cancel() }
    let setupEnd = ContinuousClock.now + .seconds(60)
    while !log.live.load(ordering: .acquiring) {
        guard ContinuousClock.now < setupEnd else { throw BenchError("WatchNodeStates did not start") }
        try await Task.sleep(for: .milliseconds(10))
    }
    // The agent's inventory must be there before a policy can select its PF.
    _ = try await log.first(after: 0, within: .seconds(60)) { !$0.status.interfaces.isEmpty }

    /// Applies (or deletes, with nil) the policy; the time until `Succeeded`
    /// of the generation it made, and that generation.
    func timed(_ policy: SriovV1.SriovNetworkNodePolicy?) async throws -> (Duration, Int64) {
        let index = log.count
        let start = ContinuousClock.now
        if let policy {
            var apply = SriovV1.ApplyPolicyRequest()
            apply.policy = policy
            _ = try await op.unary(SriovV1.Operator.applyPolicy, apply)
        } else {
            var delete = SriovV1.DeleteRequest()
            delete.name = "bench"
            _ = try await op.unary(SriovV1.Operator.deletePolicy, delete)
        }
        // The change is durable before the call returns: this read sees
        // the generation it made (or a later one).
        var get = SriovV1.GetRequest()
        get.name = "n1"
        let changed = try await op.unary(SriovV1.Operator.getNodeState, get).metadata.generation
        let (end, state) = try await log.first(after: index, within: .seconds(120)) {
            $0.metadata.generation >= changed && $0.status.observedGeneration == $0.metadata.generation
                && ($0.status.syncStatus == "Succeeded" || $0.status.syncStatus == "Failed")
        }
        guard state.status.syncStatus == "Succeeded" else { throw BenchError("generation \(state.metadata.generation) failed: \(state.status.lastSyncError)") }
        return (end - start, state.metadata.generation)
    }

    var create: [Duration] = []
    var rebind: [Duration] = []
    var reset: [Duration] = []
    for run in 1...runs {
        let (a, ga) = try await timed(benchPolicy(deviceType: "netdevice"))
        let (b, gb) = try await timed(benchPolicy(deviceType: "vfio-pci"))
        let (c, gc) = try await timed(nil)
        create.append(a)
        rebind.append(b)
        reset.append(c)
        say("run \(run): 0→64 netdevice VFs (MTU 9000) \(milliseconds(a)) [gen \(ga)], 64 VFs netdevice→vfio-pci \(milliseconds(b)) [gen \(gb)], policy deleted→0 VFs \(milliseconds(c)) [gen \(gc)]")
    }
    for (name, samples) in [("0→64 netdevice", create), ("netdevice→vfio-pci", rebind), ("delete→0 VFs", reset)] {
        let s = samples.sorted()
        say("apply→Succeeded via WatchNodeStates, \(name): min \(milliseconds(s[0])) median \(milliseconds(percentile(s, 0.5))) max \(milliseconds(s[s.count - 1])) (\(s.count) runs)")
    }

    // Leave 64 VFs configured and measure the agent at rest.
    _ = try await timed(benchPolicy(deviceType: "netdevice"))
    try await Task.sleep(for: .seconds(2))
    let before = try processUsage(agentPID)
    let start = ContinuousClock.now
    var peak = before.rssKiB
    for _ in 0..<idleSeconds {
        try await Task.sleep(for: .seconds(1))
        peak = max(peak, try processUsage(agentPID).rssKiB)
    }
    let after = try processUsage(agentPID)
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    say(String(format: "agent idle over %.0f s (64 VFs applied, connected): CPU %.3f s = %.3f %% of one core, RSS %d KiB at start, %d KiB at end, peak %d KiB",
               seconds, after.cpu - before.cpu, 100 * (after.cpu - before.cpu) / seconds, before.rssKiB, after.rssKiB, peak))
}
