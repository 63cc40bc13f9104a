import ArgumentParser
import Dispatch
import Glibc
import Logging
import SriovGRPC
import SriovProto

/// `sriov-controller`: the control-plane server. For now it serves the
/// standard gRPC services (health, reflection).
@main
struct SriovController: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov-controller",
        abstract: "The SR-IOV network operator's controller (gRPC over HTTP/2 with mutual TLS).")

    @Option(help: "Address to listen on: HOST:PORT, [IPV6]:PORT or unix:PATH (port 0 picks a free port).")
    var listen: String = "127.0.0.1:7443"

    @Option(help: "PEM certificate chain of the server.")
    var tlsCert: String?

    @Option(help: "PEM private key of the server.")
    var tlsKey: String?

    @Option(help: "PEM CA bundle that client certificates must chain to.")
    var tlsCa: String?

    @Flag(help: "Do not ask clients for certificates (tests and benchmarks only).")
    var noClientAuth = false

    @Flag(help: "Serve plaintext HTTP/2 without TLS (tests and benchmarks only).")
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

    func validate() throws {
        if !insecureH2c && (tlsCert == nil || tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key are required unless --insecure-h2c is given")
        }
        if !insecureH2c && !noClientAuth && tlsCa == nil {
            throw ValidationError("--tls-ca is required to verify client certificates (or pass --no-client-auth)")
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
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "sriov-controller")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let target = try BindTarget(parsing: listen)
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
        let reflection = ReflectionService(services: [GrpcHealthV1.Health.serviceName, GrpcReflectionV1.ServerReflection.serviceName])
        let server = try GRPCServer(configuration: config, routes: health.routes + reflection.routes, logger: logger)
        let port = try server.start()

        let signals = SignalWatcher([SIGTERM, SIGINT, SIGHUP])
        let shown: String
        switch target {
        case .host(let h, _): shown = BindTarget.host(h, port: port).description
        case .unix: shown = target.description
        }
        logger.info("sriov-controller ready, listening on \(shown)")
        for await signal in signals.stream {
            if signal == SIGHUP {
                // A failure is logged and counted by the server, and kept in
                // `lastReloadError` until a reload succeeds.
                do {
                    try server.reloadTLS()
                    if reloadFailClosed && !server.isServing {
                        server.setServing(true)
                        health.setStatus(.serving)
                    }
                } catch {
                    if reloadFailClosed {
                        health.setStatus(.notServing)
                        server.setServing(false)
                    }
                }
                continue
            }
            logger.info("shutting down", metadata: ["signal": "\(signal)"])
            health.enterShutdown()
            await server.shutdown()
            break
        }
    }
}

/// Delivers signals as an async stream (the default handlers are disabled).
final class SignalWatcher: Sendable {
    let stream: AsyncStream<Int32>
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for s in signals {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { continuation.yield(s) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}
