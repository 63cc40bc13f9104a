import ArgumentParser
import Dispatch
import Glibc
import Logging
import SriovAPI
import SriovControllerCore
import SriovGRPC
import SriovProto
import SriovStore
import SriovStoreEtcd

/// `sriov-controller`: the control-plane server. Serves `sriov.v1.Operator`
/// (operators' tooling), `sriov.v1.Agent` (node agents), health and
/// reflection; keeps its state in an SQLite database in `--data-dir`, or,
/// with `--store etcd`, in an etcd cluster shared by several replicas.
@main
struct SriovController: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov-controller",
        abstract: "The SR-IOV network operator's controller (gRPC over HTTP/2 with mutual TLS).",
        discussion: """
            Every option can also be set by an environment variable: SRIOV_CONTROLLER_ and the option's name in \
            upper case with underscores (SRIOV_CONTROLLER_DATA_DIR for --data-dir); a flag given on the command line wins. \
            Flags take true or false.
            """,
        version: SriovRelease.version)

    static let environmentPrefix = "SRIOV_CONTROLLER_"
    static let optionNames: Set<String> = [
        "listen", "data-dir", "tls-cert", "tls-key", "tls-ca", "metrics-listen", "log-format", "threads",
        "keepalive-interval", "keepalive-timeout", "log-level", "operator-namespace", "history-revisions",
        "trust-domain", "tls-crl", "max-connection-age", "node-state-gc-after", "last-seen-refresh", "store", "etcd-endpoints", "etcd-cert", "etcd-key",
        "etcd-ca", "etcd-prefix", "etcd-lease-ttl", "etcd-max-txn-ops", "derived-repair-interval",
    ]
    static let flagNames: Set<String> = ["no-client-auth", "insecure-h2c", "reload-fail-closed"]

    @Option(help: "Address to listen on: HOST:PORT, [IPV6]:PORT or unix:PATH (port 0 picks a free port).")
    var listen: String = "127.0.0.1:7443"

    @Option(help: "Directory of the controller's database (created files: sriov.db and its WAL); required with --store sqlite.")
    var dataDir: String?

    @Option(help: "Where the state lives: sqlite (embedded, one controller) or etcd (several replicas share it).")
    var store: String = "sqlite"

    @Option(help: "etcd client endpoints, comma-separated: http://HOST:PORT (h2c) or https://HOST:PORT (TLS, needs --etcd-ca).")
    var etcdEndpoints: String?

    @Option(help: "PEM client certificate presented to etcd.")
    var etcdCert: String?

    @Option(help: "PEM private key of --etcd-cert.")
    var etcdKey: String?

    @Option(help: "PEM CA bundle that etcd's server certificates must chain to.")
    var etcdCa: String?

    @Option(help: "Key prefix of this controller's objects in etcd.")
    var etcdPrefix: String = "/sriov/"

    @Option(help: "Seconds of the leader lease: a replica that stops renewing loses leadership after this long.")
    var etcdLeaseTtl: Int = 5

    @Option(help: "The most compares and writes etcd takes in one transaction (its --max-txn-ops); larger writes are split.")
    var etcdMaxTxnOps: Int = 128

    @Option(help: "Seconds between the leader's checks that stored node specs and rendered objects match the render (with --store etcd).")
    var derivedRepairInterval: Int = 30

    @Option(help: "Seconds after which the node state of a node whose agent has not reported is deleted (0: never). Runs on the leader; at least 3 times --last-seen-refresh.")
    var nodeStateGcAfter: Int = 0

    @Option(help: "Seconds between refreshes of a node state's status.lastSeenTime while its agent's reports change nothing.")
    var lastSeenRefresh: Int = 300

    @Option(help: "PEM certificate chain of the server.")
    var tlsCert: String?

    @Option(help: "PEM private key of the server.")
    var tlsKey: String?

    @Option(help: "PEM CA bundle that client certificates must chain to.")
    var tlsCa: String?

    @Option(help: "Serve Prometheus metrics on http://HOST:PORT/metrics (plain HTTP/1.1); off when not given.")
    var metricsListen: String?

    @Option(help: "Log format: text or json (one object per line).")
    var logFormat: String = "text"

    @Option(help: "Namespace of policies and node states.")
    var operatorNamespace: String = "sriov-network-operator"

    @Option(help: "Store revisions of history kept for watches and paged lists; older resume points get OUT_OF_RANGE.")
    var historyRevisions: Int64 = 100_000

    @Flag(help: "Do not ask clients for certificates (tests and benchmarks only; every RPC but health is then refused).")
    var noClientAuth = false

    @Flag(help: "Serve plaintext HTTP/2 without TLS (tests and benchmarks only; every RPC but health is then refused).")
    var insecureH2c = false

    @Option(help: "Event-loop threads (default: the number of cores).")
    var threads: Int?

    @Option(help: "Seconds of silence after which a connection is PINGed (0: never). Agents that stop answering are dropped.")
    var keepaliveInterval: Int = 60

    @Option(help: "Seconds to wait for a PING's acknowledgement before closing the connection.")
    var keepaliveTimeout: Int = 20

    @Option(help: "SPIFFE trust domain of client identities (spiffe://TD/ROLE/NAME).")
    var trustDomain: String = "sriov.local"

    @Option(help: "PEM file of CRLs checked besides those in the CA bundle (reloaded on SIGHUP).")
    var tlsCrl: String?

    @Option(help: "Seconds after which a connection gets a GOAWAY so its client reconnects (0: no limit; never past the client certificate's expiry).")
    var maxConnectionAge: Int = 3600

    @Flag(help: "When a SIGHUP reload of certificates or CRLs fails, stop serving (health NOT_SERVING, connections drained) until a reload succeeds.")
    var reloadFailClosed = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        do {
            let merged = try EnvironmentArguments.merge(args, prefix: environmentPrefix, options: optionNames, flags: flagNames)
            await main(merged)
        } catch {
            printError("sriov-controller: \(error)")
            Glibc.exit(64)
        }
    }

    func validate() throws {
        if !insecureH2c && (tlsCert == nil || tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key are required unless --insecure-h2c is given")
        }
        if !insecureH2c && !noClientAuth && tlsCa == nil {
            throw ValidationError("--tls-ca is required to verify client certificates (or pass --no-client-auth)")
        }
        if lastSeenRefresh < 1 || lastSeenRefresh > 86_400 {
            throw ValidationError("--last-seen-refresh \(lastSeenRefresh) is out of range; expected 1 to 86400 seconds")
        }
        if nodeStateGcAfter != 0 && (nodeStateGcAfter < 3 * lastSeenRefresh || nodeStateGcAfter > 31_536_000) {
            throw ValidationError("--node-state-gc-after \(nodeStateGcAfter) is out of range; expected 0 (never) or \(3 * lastSeenRefresh) (3 times --last-seen-refresh, so that a live node is never collected) to 31536000 seconds")
        }
        if let threads, threads < 1 || threads > 256 {
            throw ValidationError("--threads \(threads) is out of range; expected 1...256")
        }
        if keepaliveInterval < 0 || keepaliveInterval > 86_400 {
            throw ValidationError("--keepalive-interval \(keepaliveInterval) is out of range; expected 0 (off) to 86400 seconds")
        }
        if keepaliveTimeout < 1 || keepaliveTimeout > 3_600 {
            throw ValidationError("--keepalive-timeout \(keepaliveTimeout) is out of range; expected 1 to 3600 seconds")
        }
        if maxConnectionAge < 0 || maxConnectionAge > 31_536_000 {
            throw ValidationError("--max-connection-age \(maxConnectionAge) is out of range; expected 0 (no limit) to 31536000 seconds")
        }
        do {
            try SPIFFEIdentity.validateTrustDomain(trustDomain)
        } catch {
            throw ValidationError("--trust-domain \"\(SPIFFEIDError.escape(trustDomain.utf8))\" is not a SPIFFE trust domain: \(error.message)")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
        if logFormat != "text" && logFormat != "json" {
            throw ValidationError("--log-format \(logFormat) is not one of text, json")
        }
        if historyRevisions < 1 {
            throw ValidationError("--history-revisions \(historyRevisions) must be at least 1")
        }
        switch store {
        case "sqlite":
            if dataDir == nil { throw ValidationError("--data-dir is required with --store sqlite") }
            if etcdEndpoints != nil { throw ValidationError("--etcd-endpoints is given but --store is sqlite; pass --store etcd") }
        case "etcd":
            guard let etcdEndpoints else { throw ValidationError("--etcd-endpoints is required with --store etcd") }
            let parsed = try Self.parseEtcdEndpoints(etcdEndpoints)
            if parsed.tls && etcdCa == nil {
                throw ValidationError("--etcd-endpoints uses https: --etcd-ca is required to verify etcd's certificates")
            }
            if (etcdCert == nil) != (etcdKey == nil) {
                throw ValidationError("--etcd-cert and --etcd-key go together")
            }
            if !parsed.tls && (etcdCert != nil || etcdCa != nil) {
                throw ValidationError("--etcd-cert/--etcd-ca are given but --etcd-endpoints uses http (plaintext); use https://")
            }
            if !etcdPrefix.hasPrefix("/") { throw ValidationError("--etcd-prefix \(etcdPrefix) must start with /") }
            if derivedRepairInterval < 1 || derivedRepairInterval > 86_400 {
                throw ValidationError("--derived-repair-interval \(derivedRepairInterval) is out of range; expected 1 to 86400 seconds")
            }
            if etcdMaxTxnOps < 2 || etcdMaxTxnOps > 100_000 {
                throw ValidationError("--etcd-max-txn-ops \(etcdMaxTxnOps) is out of range; expected 2 to 100000")
            }
            if etcdLeaseTtl < 2 || etcdLeaseTtl > 300 {
                throw ValidationError("--etcd-lease-ttl \(etcdLeaseTtl) is out of range; expected 2 to 300 seconds")
            }
        default:
            throw ValidationError("--store \(store) is not one of sqlite, etcd")
        }
        if let m = metricsListen, Self.splitHostPort(m) == nil {
            throw ValidationError("--metrics-listen \(m) is not HOST:PORT")
        }
    }

    static func splitHostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// The address a replica names itself by in the election.
    func shownHost(_ target: BindTarget, _ port: Int) -> String {
        switch target {
        case .host(let h, _): BindTarget.host(h, port: port).description
        case .unix: target.description
        }
    }

    /// Runs `work` every `period` while this replica leads, with the compare
    /// that fences its writes: the leader's term with several replicas, so
    /// that a deposed leader writes nothing; nil with SQLite, whose one
    /// replica always leads.
    static func everyWhileLeading(
        _ period: Duration, facts: ServerFacts, election: EtcdLeaderElection?, _ work: @escaping @Sendable (Compare?) async -> Void
    ) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: period)
                guard facts.isLeader else { continue }
                var fence: Compare?
                if let election {
                    guard let f = election.fence else { continue }
                    fence = f
                }
                await work(fence)
            }
        }
    }

    /// Checks etcd every second with a linearizable read (it needs a
    /// quorum): health is SERVING while it answers and NOT_SERVING while it
    /// does not. Writes meanwhile fail on their own with UNAVAILABLE.
    static func monitorEtcd(_ store: EtcdStore, health: HealthService, services: [String], logger: Logger) -> Task<Void, Never> {
        Task {
            var serving = true
            while !Task.isCancelled {
                // Each endpoint once, 2 s each: a member without quorum
                // holds a linearizable read until its own timeout.
                let ok = await store.checkQuorum(timeout: .seconds(2))
                if !ok && serving { logger.error("etcd unreachable or without quorum; not serving") }
                if ok != serving {
                    serving = ok
                    if ok { logger.notice("etcd reachable again; serving") }
                    health.setStatus(ok ? .serving : .notServing)
                    for s in services { health.setStatus(ok ? .serving : .notServing, for: s) }
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// `--etcd-endpoints`: every entry `http://HOST:PORT` or
    /// `https://HOST:PORT` (one scheme for all), or a bare `HOST:PORT`
    /// (plaintext).
    static func parseEtcdEndpoints(_ text: String) throws -> (targets: [BindTarget], tls: Bool) {
        var targets: [BindTarget] = []
        var schemes = Set<String>()
        for (i, raw) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            var entry = String(raw.filter { $0 != " " })
            var scheme = "http"
            let parts = entry.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2 {
                scheme = String(parts[0])
                entry = String(parts[1])
                while entry.hasSuffix("/") { entry.removeLast() }
            }
            guard scheme == "http" || scheme == "https" else {
                throw ValidationError("--etcd-endpoints entry \(i + 1) \"\(raw)\": scheme \(scheme) is not http or https")
            }
            schemes.insert(scheme)
            guard Self.splitHostPort(entry) != nil, let target = try? BindTarget(parsing: entry) else {
                throw ValidationError("--etcd-endpoints entry \(i + 1) \"\(raw)\" is not [http(s)://]HOST:PORT")
            }
            targets.append(target)
        }
        if schemes.count > 1 { throw ValidationError("--etcd-endpoints mixes http and https") }
        return (targets, schemes.contains("https"))
    }

    /// One line on standard error and a non-zero exit.
    static func fail(_ message: String) -> Never {
        printError("sriov-controller: \(message)")
        Glibc.exit(1)
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            var h: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "sriov-controller")
        logger.logLevel = level

        // Refuse clearly before anything listens.
        let store: any KVStore
        var etcdStore: EtcdStore?
        if self.store == "etcd", let etcdEndpoints {
            do {
                let parsed = try Self.parseEtcdEndpoints(etcdEndpoints)
                var options = EtcdStore.Options(
                    endpoints: parsed.targets,
                    tls: parsed.tls ? TLSConfiguration(certificatePath: etcdCert, privateKeyPath: etcdKey, trustRootsPath: etcdCa) : nil)
                options.prefix = etcdPrefix
                options.maxOperationsPerTransaction = etcdMaxTxnOps
                let s = try await EtcdStore(options: options)
                etcdStore = s
                store = s
            } catch {
                Self.fail("cannot use etcd at \(etcdEndpoints): \(error)")
            }
        } else {
            do {
                var storeOptions = SQLiteStore.Options()
                storeOptions.retainedRevisions = historyRevisions
                store = try SQLiteStore(directory: dataDir ?? "", options: storeOptions)
            } catch {
                Self.fail("cannot use the data directory: \(error)")
            }
        }

        if !insecureH2c, let tlsCert {
            do {
                try ServerCertificate.check(path: tlsCert, trustDomain: trustDomain)
            } catch {
                Self.fail("--tls-cert: \(error)")
            }
        }
        let target: BindTarget
        do { target = try BindTarget(parsing: listen) } catch { Self.fail("--listen \(listen): \(error)") }
        let security: ServerConfiguration.Security =
            insecureH2c
            ? .insecurePlaintext
            : .tls(TLSConfiguration(
                certificatePath: tlsCert, privateKeyPath: tlsKey, trustRootsPath: tlsCa,
                clientAuth: noClientAuth ? .none : .required, trustDomain: trustDomain, crlPath: tlsCrl))
        var limits = ServerConfiguration.Limits()
        limits.keepaliveInterval = keepaliveInterval == 0 ? nil : .seconds(keepaliveInterval)
        limits.keepaliveTimeout = .seconds(keepaliveTimeout)
        limits.maxConnectionAge = maxConnectionAge == 0 ? nil : .seconds(maxConnectionAge)
        let config = ServerConfiguration(target: target, security: security, threads: threads ?? System.coreCount, limits: limits)

        let health = HealthService()
        let services = [SriovV1.Operator.serviceName, SriovV1.Agent.serviceName]
        health.setStatus(.notServing)
        for s in services { health.setStatus(.notServing, for: s) }
        let reflection = ReflectionService(services: services + [GrpcHealthV1.Health.serviceName, GrpcReflectionV1.ServerReflection.serviceName])
        let deferred = DeferredRoutes(SriovV1.Operator.methods + SriovV1.Agent.methods)
        let server: GRPCServer
        let port: Int
        do {
            server = try GRPCServer(configuration: config, routes: health.routes + reflection.routes + deferred.routes, logger: logger)
            port = try server.start()
        } catch {
            Self.fail("cannot serve on \(listen): \(error)")
        }
        let metrics = ControllerMetrics()
        var metricsServer: MetricsHTTPServer?
        if let m = metricsListen, let (host, mport) = Self.splitHostPort(m) {
            do {
                metricsServer = try MetricsHTTPServer(host: host, port: mport) { metrics.render() }
                logger.info("metrics on http://\(m.hasPrefix("[") ? "[\(host)]" : host):\(metricsServer!.port)/metrics")
            } catch {
                Self.fail("--metrics-listen \(m): \(error)")
            }
        }
        let shown: String
        switch target {
        case .host(let h, _): shown = BindTarget.host(h, port: port).description
        case .unix: shown = target.description
        }
        logger.info("sriov-controller listening on \(shown); loading state")

        var options = ControllerState.Options()
        options.operatorNamespace = operatorNamespace
        options.lastSeenRefreshSeconds = Int64(lastSeenRefresh)
        let fanout = ConfigFanout()
        let state: ControllerState
        do {
            state = try await ControllerState(store: store, options: options, fanout: fanout, metrics: metrics, logger: logger)
        } catch {
            Self.fail("cannot load the stored state: \(error)")
        }
        let candidate = "\(shownHost(target, port))-\(getpid())"
        let facts = etcdStore == nil
            ? ServerFacts(store: self.store)
            : ServerFacts(store: self.store, replica: candidate, leading: false)
        let streamShutdown = StreamShutdown()
        deferred.install(
            OperatorService(state: state, store: store, metrics: metrics, logger: logger, options: options, facts: facts,
                            shutdown: streamShutdown).routes
            + AgentService(state: state, fanout: fanout, metrics: metrics, logger: logger).routes)
        health.setStatus(.serving)
        for s in services { health.setStatus(.serving, for: s) }
        var replicaTasks: [Task<Void, Never>] = []
        var election: EtcdLeaderElection?
        metrics.leader.set(Double(facts.isLeader ? 1 : 0))
        if let etcdStore {
            // A replica: learn the other replicas' writes, and report
            // NOT_SERVING while etcd has no quorum for us.
            replicaTasks.append(await state.startFollowing())
            replicaTasks.append(Self.monitorEtcd(etcdStore, health: health, services: services, logger: logger))
            // Leadership for work that must run once (fenced by the
            // election's compare); logged so operators see who leads.
            let campaign = EtcdLeaderElection(store: etcdStore, candidate: candidate, ttl: .seconds(etcdLeaseTtl))
            election = campaign
            let electionLogger = logger
            replicaTasks.append(Task {
                await campaign.run { leading in
                    facts.setLeading(leading)
                    metrics.leader.set(Double(leading ? 1 : 0))
                    if leading {
                        electionLogger.notice("this replica leads", metadata: ["candidate": "\(campaign.candidate)"])
                    } else {
                        electionLogger.notice("this replica does not lead", metadata: ["candidate": "\(campaign.candidate)"])
                    }
                }
            })
        }
        // Leader work.
        if let election {
            // Node specs and rendered objects that differ from the render:
            // left behind by a replica that died between the parts of a split
            // commit.
            replicaTasks.append(Self.everyWhileLeading(.seconds(derivedRepairInterval), facts: facts, election: election) { fence in
                _ = await state.repairDerived(fence: fence)
            })
        }
        if nodeStateGcAfter > 0 {
            // Node states not reported for --node-state-gc-after seconds,
            // checked every quarter of that (1 s to 60 s).
            let after = nodeStateGcAfter
            let gcLogger = logger
            replicaTasks.append(Self.everyWhileLeading(.seconds(max(1, min(60, after / 4))), facts: facts, election: election) { fence in
                let collected = await state.collectStaleNodeStates(staleAfterSeconds: Int64(after), fence: fence)
                if !collected.isEmpty {
                    gcLogger.info("node-state collection done", metadata: ["collected": "\(collected.count)"])
                }
            })
        }
        logger.info("sriov-controller ready", metadata: ["revision": "\(store.currentRevision)", "store": "\(self.store)"])

        // Give memory freed by connection churn (TLS handshakes) back to the
        // system: checked every 5 s, trimmed when 32 or more connections came
        // or went since the last trim, and once after loading.
        server.trimMemory()
        let trimmer = Task.detached {
            var last = server.connectionCount
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                let now = server.connectionCount
                if abs(now - last) >= 32 {
                    server.trimMemory()
                    last = now
                }
            }
        }
        defer { trimmer.cancel() }

        let signals = SignalWatcher([SIGTERM, SIGINT, SIGHUP])
        for await signal in signals.stream {
            if signal == SIGHUP {
                // A failure is logged and counted by the server, and kept in
                // `lastReloadError` until a reload succeeds.
                do {
                    try server.reloadTLS()
                    if reloadFailClosed && !server.isServing {
                        server.setServing(true)
                        health.setStatus(.serving)
                        for s in services { health.setStatus(.serving, for: s) }
                    }
                } catch {
                    if reloadFailClosed {
                        health.setStatus(.notServing)
                        for s in services { health.setStatus(.notServing, for: s) }
                        server.setServing(false)
                    }
                }
                continue
            }
            logger.info("shutting down", metadata: ["signal": "\(signal)"])
            health.enterShutdown()
            for t in replicaTasks { t.cancel() }
            fanout.closeAll()
            streamShutdown.end()
            await server.shutdown()
            metricsServer?.stop()
            store.close()
            break
        }
    }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = write(2, &bytes, bytes.count)
}
