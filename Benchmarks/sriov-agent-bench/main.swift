// sriov-agent-bench: time from a new config generation to `Succeeded` on the
// simulated kernel, with the write count, through the real agent loop and an
// in-process Agent service over loopback h2c; or, with `serve CERT-DIR`, an
// idle Agent service over mTLS for measuring a real `sriov-agent` process;
// or, with `e2e` (driven by Benchmarks/agent-e2e/run.sh), a policy apply at a
// real controller until Succeeded with a real agent, and the agent at rest.
import Glibc
import Logging
import SriovAgentCore
import SriovGRPC
import SriovHost
import SriovProto
import SriovSimKernel
import Synchronization

/// A minimal Agent service: one config, reports counted.
final class BenchService: Sendable {
    let config = Mutex(SriovV1.NodeConfig())
    let reports = Mutex<[(ContinuousClock.Instant, SriovV1.StatusReport)]>([])

    var routes: [ServerRoute] {
        [
            .clientStreaming(SriovV1.Agent.streamInventory) { stream, _ in
                for try await _ in stream {}
                return SriovV1.InventoryAck()
            },
            .serverStreaming(SriovV1.Agent.watchConfig) { _, writer, _ in
                var sent: Int64 = -1
                while !Task.isCancelled {
                    let c = self.config.withLock { $0 }
                    if c.generation != sent {
                        try await writer.write(c)
                        sent = c.generation
                    }
                    try await Task.sleep(for: .milliseconds(1))
                }
            },
            .unary(SriovV1.Agent.reportStatus) { r, _ in
                self.reports.withLock { $0.append((.now, r)) }
                return SriovV1.StatusAck()
            },
        ]
    }
}

func spec(_ pci: String, numVfs: Int32) -> SriovV1.SriovNetworkNodeStateSpec {
    var i = SriovV1.Interface()
    i.pciAddress = pci
    i.numVfs = numVfs
    i.mtu = 9000
    var a = SriovV1.VfGroup()
    a.vfRange = "0-\(numVfs / 2 - 1)"
    a.deviceType = "vfio-pci"
    a.policyName = "dpdk"
    var b = SriovV1.VfGroup()
    b.vfRange = "\(numVfs / 2)-\(numVfs - 1)"
    b.deviceType = "netdevice"
    b.mtu = 9000
    b.policyName = "kernel"
    i.vfGroups = [a, b]
    var s = SriovV1.SriovNetworkNodeStateSpec()
    s.interfaces = [i]
    return s
}

func applyBenchmark(runs: Int) async throws {
    let service = BenchService()
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let server = try GRPCServer(configuration: ServerConfiguration(target: .host("127.0.0.1", port: 0), security: .insecurePlaintext, threads: 1),
                                routes: service.routes, logger: logger)
    let port = try server.start()
    for run in 1...runs {
        let dir = "/tmp/sriov-agent-bench-\(getpid())-\(run)"
        let kernel = try SimulatedKernel.create(root: dir + "/sysfs", inventory: NICInventory(parsing: "e810:1"))
        var hostConfig = HostApplier.Configuration()
        hostConfig.pollInterval = .milliseconds(1)
        let applier = HostApplier(sysfs: kernel, store: CheckpointStore(directory: dir + "/state"), configuration: hostConfig, logger: logger)
        let channel = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: port), security: .insecurePlaintext))
        var config = AgentConfiguration(nodeName: "n1")
        config.rescanInterval = .seconds(3600)
        let agent = SriovAgent(configuration: config, channel: channel, applier: applier, logger: logger)
        service.config.withLock { $0 = SriovV1.NodeConfig() }
        service.reports.withLock { $0.removeAll() }
        let task = Task { await agent.run() }
        while agent.counters.configStreams == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let generation = Int64(run)
        let start = ContinuousClock.now
        service.config.withLock {
            $0.generation = generation
            $0.spec = spec("0000:18:00.0", numVfs: 64)
        }
        var done: (ContinuousClock.Instant, SriovV1.StatusReport)?
        while done == nil {
            try await Task.sleep(for: .milliseconds(1))
            done = service.reports.withLock { $0.last { $0.1.generation == generation && $0.1.syncStatus != "InProgress" } }
        }
        let (end, report) = done!
        let second = await applier.apply(spec("0000:18:00.0", numVfs: 64), generation: generation)
        print("run \(run): generation→\(report.syncStatus) for 64 VFs: \(end - start), sysfs writes \(kernel.writeCount - second.writes), second apply writes \(second.writes)")
        task.cancel()
        await task.value
        channel.close()
        SimulatedKernel.remove(root: dir)
    }
    await server.shutdown(gracePeriod: .seconds(1))
}

func serveIdle(certs: String, seconds: Int) async throws {
    let service = BenchService()
    service.config.withLock {
        $0.generation = 1
        $0.spec = spec("0000:18:00.0", numVfs: 8)
    }
    let server = try GRPCServer(
        configuration: ServerConfiguration(target: .host("127.0.0.1", port: 0), security: .tls(TLSConfiguration(
            certificatePath: certs + "/controller.crt", privateKeyPath: certs + "/controller.key", trustRootsPath: certs + "/ca.crt")), threads: 1),
        routes: service.routes, logger: Logger(label: "bench"))
    let port = try server.start()
    say("PORT \(port)")
    try await Task.sleep(for: .seconds(seconds))
    say("reports \(service.reports.withLock { $0.map { "\($0.1.generation):\($0.1.syncStatus)" } })")
    await server.shutdown(gracePeriod: .seconds(1))
}

/// One line to standard output, unbuffered (a parent reads the port from it).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let args = CommandLine.arguments
if args.count >= 5 && args[1] == "e2e" {
    guard let pid = Int32(args[4]) else { fatalError("e2e HOST:PORT CERT-DIR AGENT-PID [RUNS] [IDLE-SECONDS]") }
    try await endToEndBenchmark(target: args[2], certs: args[3], agentPID: pid, runs: args.count >= 6 ? Int(args[5]) ?? 5 : 5,
                                idleSeconds: args.count >= 7 ? Int(args[6]) ?? 60 : 60)
} else if args.count >= 3 && args[1] == "serve" {
    try await serveIdle(certs: args[2], seconds: args.count >= 4 ? Int(args[3]) ?? 90 : 90)
} else {
    try await applyBenchmark(runs: args.count >= 2 ? Int(args[1]) ?? 5 : 5)
}
