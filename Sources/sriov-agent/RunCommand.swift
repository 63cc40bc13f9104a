import ArgumentParser
import Dispatch
import Glibc
import Logging
import SriovAgentCore
import SriovGRPC
import SriovHost
import SriovSimKernel

/// Runs the agent. Every option can also come from an `SRIOV_AGENT_*`
/// environment variable (the option's name in upper case, `-` as `_`).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Connect to the controller and keep this node's SR-IOV NICs as configured (the default).")

    @Option(help: "The controller: HOST:PORT, or several replicas as HOST:PORT,HOST:PORT,... tried in turn ($SRIOV_AGENT_CONTROLLER).")
    var controller: String?
    @Option(help: "This node's name; must be NAME in the certificate's spiffe://TD/node/NAME ($SRIOV_AGENT_NODE_NAME).")
    var nodeName: String?
    @Option(help: "PEM client certificate ($SRIOV_AGENT_TLS_CERT).")
    var tlsCert: String?
    @Option(help: "PEM private key ($SRIOV_AGENT_TLS_KEY).")
    var tlsKey: String?
    @Option(help: "PEM CA bundle the controller's certificate must chain to ($SRIOV_AGENT_TLS_CA).")
    var tlsCa: String?
    @Option(help: "The directory that stands for / when reading sysfs ($SRIOV_AGENT_SYSFS_ROOT; default /). A tree made by `sriov-agent simulate` is driven through the simulated kernel.")
    var sysfsRoot: String?
    @Option(help: "Where the checkpoint is kept ($SRIOV_AGENT_STATE_DIR; default /var/lib/sriov-agent).")
    var stateDir: String?
    @Option(name: .customLong("label"), help: "A node label k=v sent with the inventory; repeatable ($SRIOV_AGENT_LABELS: comma-separated).")
    var labels: [String] = []
    @Option(help: "How often sysfs is rediscovered, e.g. 30s, 500ms, 2m ($SRIOV_AGENT_RESCAN_INTERVAL; default 30s).")
    var rescanInterval: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical ($SRIOV_AGENT_LOG_LEVEL; default info).")
    var logLevel: String?

    /// The settings after options and environment are merged and checked.
    struct Settings {
        var controller: BindTarget
        var controllerHost: String
        /// Further controller replicas, tried in turn after `controller`.
        var alternativeControllers: [BindTarget] = []
        var nodeName: String
        var tlsCert: String
        var tlsKey: String
        var tlsCa: String
        var sysfsRoot: String
        var stateDir: String
        var labels: [String: String]
        var rescanInterval: Duration
        var logLevel: Logger.Level
    }

    func settings(environment env: [String: String]) throws(AgentError) -> Settings {
        func value(_ option: String?, _ name: String, _ variable: String) throws(AgentError) -> String {
            if let option, !option.isEmpty { return option }
            if let v = env[variable], !v.isEmpty { return v }
            throw AgentError("\(name) is required (or set \(variable))")
        }
        let controllerList = try value(controller, "--controller", "SRIOV_AGENT_CONTROLLER")
        var targets: [BindTarget] = []
        for entry in controllerList.split(separator: ",", omittingEmptySubsequences: false) {
            let controllerText = String(entry)
            let target: BindTarget
            do {
                target = try BindTarget(parsing: controllerText)
            } catch {
                throw AgentError("--controller \(controllerText): \(error)")
            }
            guard case .host = target else { throw AgentError("--controller \(controllerText) must be HOST:PORT") }
            targets.append(target)
        }
        guard let target = targets.first, case .host(let host, _) = target else { throw AgentError("--controller is empty") }
        var labelItems = labels
        if labelItems.isEmpty, let v = env["SRIOV_AGENT_LABELS"], !v.isEmpty {
            labelItems = v.split(separator: ",").map(String.init)
        }
        var labelMap: [String: String] = [:]
        for item in labelItems {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty else { throw AgentError("--label \(item) is not KEY=VALUE") }
            labelMap[String(kv[0])] = String(kv[1])
        }
        let intervalText = rescanInterval ?? env["SRIOV_AGENT_RESCAN_INTERVAL"] ?? "30s"
        guard let interval = Self.parseDuration(intervalText), interval >= .milliseconds(100), interval <= .seconds(86_400) else {
            throw AgentError("--rescan-interval \(intervalText) is not a duration from 100ms to 24h (e.g. 30s, 500ms, 2m)")
        }
        let levelText = logLevel ?? env["SRIOV_AGENT_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw AgentError("--log-level \(levelText) is not one of trace, debug, info, notice, warning, error, critical")
        }
        return Settings(
            controller: target, controllerHost: host, alternativeControllers: Array(targets.dropFirst()),
            nodeName: try value(nodeName, "--node-name", "SRIOV_AGENT_NODE_NAME"),
            tlsCert: try value(tlsCert, "--tls-cert", "SRIOV_AGENT_TLS_CERT"),
            tlsKey: try value(tlsKey, "--tls-key", "SRIOV_AGENT_TLS_KEY"),
            tlsCa: try value(tlsCa, "--tls-ca", "SRIOV_AGENT_TLS_CA"),
            sysfsRoot: sysfsRoot ?? env["SRIOV_AGENT_SYSFS_ROOT"] ?? "/",
            stateDir: stateDir ?? env["SRIOV_AGENT_STATE_DIR"] ?? "/var/lib/sriov-agent",
            labels: labelMap, rescanInterval: interval, logLevel: level)
    }

    /// `30s`, `500ms`, `2m`, `1h`, or plain seconds.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, ms) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)), n >= 0 else { return nil }
            return .milliseconds(n * ms)
        }
        return Int64(text).map { .seconds($0) }
    }

    func run() async throws {
        let s: Settings
        do {
            s = try settings(environment: Self.environment())
            _ = try NodeIdentity.verify(nodeName: s.nodeName, certificatePath: s.tlsCert)
        } catch {
            printError("sriov-agent: \(error.message)")
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "sriov-agent")
        logger.logLevel = s.logLevel

        let sysfs: any Sysfs
        if SimulatedKernel.isSimulated(root: s.sysfsRoot) {
            do {
                sysfs = try SimulatedKernel(root: s.sysfsRoot)
            } catch {
                throw ValidationError(error.message)
            }
            logger.notice("driving a simulated kernel", metadata: ["sysfs.root": "\(s.sysfsRoot)"])
        } else {
            sysfs = FileSysfs(root: s.sysfsRoot)
        }
        let applier = HostApplier(sysfs: sysfs, store: CheckpointStore(directory: s.stateDir), logger: logger)

        var client = ClientConfiguration(
            target: s.controller,
            security: .tls(
                TLSConfiguration(certificatePath: s.tlsCert, privateKeyPath: s.tlsKey, trustRootsPath: s.tlsCa),
                // With replicas, each address's own host is verified.
                serverName: s.alternativeControllers.isEmpty ? s.controllerHost : nil))
        client.alternativeTargets = s.alternativeControllers
        client.keepalive = AgentConfiguration.keepalive
        let channel = try GRPCChannel(configuration: client)
        var config = AgentConfiguration(nodeName: s.nodeName)
        config.labels = s.labels
        config.rescanInterval = s.rescanInterval
        let agent = SriovAgent(configuration: config, channel: channel, applier: applier, logger: logger)
        logger.info("sriov-agent started", metadata: ["controller": "\(([s.controller] + s.alternativeControllers).map(\.description).joined(separator: ","))", "sysfs.root": "\(s.sysfsRoot)", "state.dir": "\(s.stateDir)"])

        let signals = SignalWatcher([SIGTERM, SIGINT])
        let task = Task { await agent.run() }
        for await signal in signals.stream {
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            break
        }
        task.cancel()
        await task.value
        channel.close()
    }

    static func environment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { env[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            p += 1
        }
        return env
    }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

