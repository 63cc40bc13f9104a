import CNGHTTP2
import CSriovShims
import Glibc
import Logging
import SriovSync

/// A gRPC server: HTTP/2 on nghttp2, TLS on OpenSSL, one epoll loop per
/// thread. Connections are spread over the loops by the kernel (every loop
/// waits on the listening socket with EPOLLEXCLUSIVE).
///
/// ```swift
/// let server = try GRPCServer(configuration: config, routes: HealthService().routes, logger: logger)
/// let port = try server.start()
/// ...
/// await server.shutdown()
/// ```
public final class GRPCServer: Sendable {
    public let configuration: ServerConfiguration
    /// Routes by `:path`, each with its metrics cell (one lookup per call).
    let routes: [String: (route: ServerRoute, metrics: ServerMetrics.Cell)]
    let logger: Logger
    /// Per-method counters and latencies.
    public let metrics: ServerMetrics
    /// Live connection and stream objects (leak tests).
    let live = LiveCounters()
    private let tls: Locked<TLSContext?>
    private let reload = Locked(ReloadState())
    private let state = Locked(RunState())
    private let openConnections = Atomic<Int>(0)
    /// Response HEADERS (identity and gzip), built once.
    let responseHeaders: [(String, String)]
    let responseHeaderBlocks: (identity: StaticHeaderBlock, gzip: StaticHeaderBlock)
    /// The `grpc-accept-encoding` this server sends.
    let acceptEncoding: String
    /// nghttp2 options shared by every session (immutable after init).
    nonisolated(unsafe) let nghttp2Options: OpaquePointer

    private struct ReloadState {
        var lastError: TLSError?
    }

    private struct RunState {
        var loops: [EventLoop] = []
        var listenFD: Int32 = -1
        var port = 0
        var connections: [ObjectIdentifier: ServerConnection] = [:]
        var stopped = false
        var unixPath: String?
        /// False after ``setServing(_:)`` turned serving off.
        var serving = true
    }

    /// Builds a server; loads the TLS material now so that configuration
    /// errors surface before anything listens.
    public init(configuration: ServerConfiguration, routes: [ServerRoute], logger: Logger) throws {
        self.configuration = configuration
        var table: [String: ServerRoute] = [:]
        for r in routes { table[r.path] = r }
        let metrics = ServerMetrics(paths: Array(table.keys))
        self.metrics = metrics
        self.routes = table.mapValues { ($0, metrics.cells[$0.path]!) }
        self.logger = logger
        acceptEncoding = configuration.compression.acceptGzip ? CompressionAlgorithm.acceptHeaderValue : "identity"
        responseHeaders = [(":status", "200"), ("content-type", "application/grpc"), ("grpc-accept-encoding", acceptEncoding)]
        responseHeaderBlocks = StaticHeaderBlock.responseBlocks(responseHeaders)
        switch configuration.security {
        case .tls(let c):
            tls = Locked(try TLSContext(configuration: c, server: true))
            if c.clientAuth == .none {
                logger.warning("TLS without client certificates: any client may connect (tests and benchmarks only)")
            }
        case .insecurePlaintext:
            tls = Locked(nil)
            logger.warning("plaintext HTTP/2 (h2c) without TLS: no authentication or encryption (tests and benchmarks only)")
        }
        var opt: OpaquePointer?
        nghttp2_option_new(&opt)
        nghttp2_option_set_no_auto_window_update(opt, 1)
        nghttp2_option_set_stream_reset_rate_limit(opt, configuration.limits.streamResetBurst, configuration.limits.streamResetRate)
        nghttp2_option_set_max_continuations(opt, configuration.limits.maxContinuations)
        nghttp2_option_set_max_outbound_ack(opt, 1000)
        nghttp2_option_set_max_settings(opt, 32)
        // No priority tree of closed streams: memory per idle connection.
        nghttp2_option_set_no_closed_streams(opt, 1)
        nghttp2Options = opt!
    }

    deinit { nghttp2_option_del(nghttp2Options) }

    /// The port listened on (after ``start()``), 0 for a Unix socket.
    public var port: Int { state.withLock { $0.port } }

    /// Connections currently open.
    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Binds, listens and starts the event loops. Returns the bound port.
    @discardableResult
    public func start() throws -> Int {
        let fd: Int32
        var port = 0
        switch configuration.target {
        case .host(let host, let p):
            fd = try SocketAddress.withSockaddr(host: host, port: p) { addr, len, family in
                let fd = try syscall("socket", "for \(configuration.target)") { socket(family, Int32(SOCK_STREAM.rawValue) | CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC(), 0) }
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                if family == AF_INET6 { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size)) }
                do {
                    try syscall("bind", "\(configuration.target)") { bind(fd, addr, len) }
                } catch {
                    Glibc.close(fd)
                    throw error
                }
                return fd
            }
            port = 0
        case .unix(let path):
            unlink(path)
            fd = try syscall("socket", "for \(configuration.target)") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC(), 0) }
            do {
                _ = try SocketAddress.withUnixSockaddr(path: path) { addr, len in
                    try syscall("bind", "\(configuration.target)") { bind(fd, addr, len) }
                }
            } catch {
                Glibc.close(fd)
                throw error
            }
        }
        try syscall("listen", "\(configuration.target)") { listen(fd, 4096) }
        if case .host = configuration.target { port = SocketAddress.localPort(fd) }
        var loops: [EventLoop] = []
        for i in 0..<configuration.threads {
            let loop = EventLoop(name: "grpc-server-\(i)")
            loops.append(loop)
            loop.start()
            let acceptor = Acceptor(server: self, loop: loop, fd: fd)
            loop.execute {
                loop.register(fd: fd, events: EPOLLIN.rawValue | (1 << 28) /* EPOLLEXCLUSIVE */, handler: acceptor)
                self.scheduleSweep(loop)
            }
        }
        state.withLock {
            $0.loops = loops
            $0.listenFD = fd
            $0.port = port
            if case .unix(let p) = configuration.target { $0.unixPath = p }
        }
        return port
    }

    private func scheduleSweep(_ loop: EventLoop) {
        // The closure holds its own loop; the loop drops pending timers when
        // it stops, which ends that cycle (no weak reference: it would slow
        // every retain and release of the loop).
        loop.schedule(after: 1_000_000_000) { [weak self] in
            guard let self else { return }
            let now = Monotonic.now()
            let mine = self.state.withLock { s in s.connections.values.filter { $0.loop === loop } }
            for c in mine { c.sweep(now: now) }
            if !self.state.withLock({ $0.stopped }) { self.scheduleSweep(loop) }
        }
    }

    /// Returns the heap's free memory to the system (glibc `malloc_trim`).
    /// glibc gives back only the top of each heap by itself; after many
    /// connections close, what they used stays resident though free
    /// (measured: 3,000 agents gone, 269 MB resident, 63 MB after a trim).
    /// Callers run it after connection churn.
    public func trimMemory() {
        _ = CSriovShims_malloc_trim(0)
    }

    /// Reloads certificate, key, CA bundle and CRLs from the configured
    /// paths. New connections use them. When the CA bundle or the CRLs
    /// changed, every open connection's client certificate is verified again
    /// against them and the connection closed if it no longer verifies
    /// (revoked, its CA removed, expired).
    ///
    /// A failure keeps the previous context, counts in
    /// ``ServerMetrics/tlsReloadFailures`` and stays in ``lastReloadError``
    /// until a reload succeeds; what else to do (fail closed with
    /// ``setServing(_:)``) is the caller's choice.
    public func reloadTLS() throws {
        guard case .tls(let c) = configuration.security else { return }
        let fresh: TLSContext
        do {
            fresh = try TLSContext(configuration: c, server: true)
        } catch {
            let e = error as? TLSError ?? TLSError(operation: "reloading", reason: "\(error)")
            reload.withLock { $0.lastError = e }
            metrics.tlsReloadFailures.add(1, ordering: .relaxed)
            logger.error("TLS reload failed; keeping the previous certificates", metadata: ["error": "\(e)"])
            throw e
        }
        let old = tls.withLock { t -> TLSContext? in
            let o = t
            t = fresh
            return o
        }
        reload.withLock { $0.lastError = nil }
        metrics.tlsReloads.add(1, ordering: .relaxed)
        _ = CSriovShims_malloc_trim(0)
        let changed = old?.trustMaterial != fresh.trustMaterial
        logger.info("reloaded TLS certificate, key and CA", metadata: [
            "tls.cert": "\(c.certificatePath ?? "")", "tls.crls": "\(fresh.crlCount)", "tls.trust_changed": "\(changed)",
        ])
        if changed { reverifyConnections(against: fresh) }
    }

    /// Why the last reload failed; nil when it succeeded (or none was tried).
    public var lastReloadError: TLSError? { reload.withLock { $0.lastError } }

    /// The context new connections get.
    var currentTLSContext: TLSContext? { tls.withLock { $0 } }

    private func reverifyConnections(against context: TLSContext) {
        let loops = state.withLock { $0.loops }
        for loop in loops {
            loop.execute {
                let mine = self.state.withLock { s in s.connections.values.filter { $0.loop === loop } }
                for c in mine { c.reverify(against: context) }
            }
        }
    }

    /// Turns serving off or on again. Off: new connections are closed as
    /// soon as they are accepted and open ones get a GOAWAY (their calls
    /// finish); for a controller that prefers to fail closed when its
    /// certificates or CRLs cannot be reloaded.
    public func setServing(_ serving: Bool) {
        let (changed, loops) = state.withLock { s -> (Bool, [EventLoop]) in
            let changed = s.serving != serving
            s.serving = serving
            return (changed, s.loops)
        }
        guard changed else { return }
        if serving {
            logger.notice("serving again: accepting connections")
            return
        }
        logger.warning("not serving: refusing new connections and draining open ones")
        for loop in loops {
            loop.execute {
                let mine = self.state.withLock { s in s.connections.values.filter { $0.loop === loop } }
                for c in mine { c.goAway() }
            }
        }
    }

    /// Whether the server accepts connections (see ``setServing(_:)``).
    public var isServing: Bool { state.withLock { $0.serving } }

    func certificateRefused(_ c: ServerConnection, _ error: SPIFFEIDError) {
        metrics.identityRefusals.add(1, ordering: .relaxed)
        logger.warning("refused a client certificate", metadata: [
            "address": "\(c.remoteAddress)", "reason": "\(error)", "code": "\(error.code)",
        ])
    }

    func connectionAgedOut(_ c: ServerConnection, certificateExpiring: Bool) {
        metrics.connectionsAgedOut.add(1, ordering: .relaxed)
        logger.debug(certificateExpiring ? "draining a connection whose client certificate expires" : "draining a connection at its maximum age",
                     metadata: ["peer": "\(c.peer)", "address": "\(c.remoteAddress)"])
    }

    func connectionFailedReverification(_ c: ServerConnection, reason: String) {
        metrics.connectionsRevoked.add(1, ordering: .relaxed)
        logger.warning("closing a connection whose client certificate no longer verifies", metadata: [
            "peer": "\(c.peer)", "address": "\(c.remoteAddress)", "reason": "\(reason)",
        ])
    }

    func accepted(fd: Int32, remote: String, loop: EventLoop) {
        let context = tls.withLock { $0 }
        if case .host = configuration.target { SocketAddress.setNoDelay(fd) }
        do {
            let c = try ServerConnection(server: self, loop: loop, fd: fd, tls: context, remoteAddress: remote)
            let stopped = state.withLock { s -> Bool in
                if s.stopped || !s.serving { return true }
                s.connections[ObjectIdentifier(c)] = c
                return false
            }
            if stopped {
                Glibc.close(fd)
                return
            }
            openConnections.add(1, ordering: .relaxed)
            c.activate()
        } catch {
            logger.error("could not set up connection", metadata: ["peer": "\(remote)", "error": "\(error)"])
            Glibc.close(fd)
        }
    }

    func connectionClosed(_ c: ServerConnection) {
        let removed = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(c)) != nil }
        if removed { openConnections.subtract(1, ordering: .relaxed) }
        if let f = c.failure {
            logger.info("connection closed", metadata: ["peer": "\(c.remoteAddress)", "reason": "\(f)"])
        }
    }

    func callFinished(_ cell: ServerMetrics.Cell?, code: StatusCode, started: UInt64) {
        cell?.finished(code: code, nanoseconds: Monotonic.now() &- started)
    }

    func unknownMethod() {}

    func keepaliveTimedOut(_ c: ServerConnection) {
        metrics.keepaliveTimeouts.add(1, ordering: .relaxed)
        logger.warning("closing a connection whose client stopped answering keepalive PINGs",
                       metadata: ["peer": "\(c.peer)", "address": "\(c.remoteAddress)"])
    }

    /// Graceful shutdown: stop accepting, GOAWAY every connection, let calls
    /// finish within `gracePeriod` (default from the limits), then cancel
    /// what remains and stop the loops.
    public func shutdown(gracePeriod: Duration? = nil) async {
        let (loops, fd, path) = state.withLock { s -> ([EventLoop], Int32, String?) in
            if s.stopped { return ([], -1, nil) }
            s.stopped = true
            return (s.loops, s.listenFD, s.unixPath)
        }
        guard !loops.isEmpty else { return }
        let closedListeners = Atomic<Int>(0)
        for loop in loops {
            loop.execute {
                loop.deregister(fd: fd)
                if closedListeners.add(1, ordering: .relaxed).newValue == loops.count {
                    Glibc.close(fd)
                    if let path { unlink(path) }
                }
                let mine = self.state.withLock { s in s.connections.values.filter { $0.loop === loop } }
                for c in mine { c.goAway() }
            }
        }
        let grace = gracePeriod ?? configuration.limits.shutdownGracePeriod
        let deadline = ContinuousClock.now + grace
        while connectionCount > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for loop in loops {
            loop.execute {
                let mine = self.state.withLock { s in s.connections.values.filter { $0.loop === loop } }
                for c in mine { c.forceClose() }
            }
        }
        for loop in loops { loop.stopAndJoin() }
        logger.info("server stopped")
    }
}

/// Accepts connections on one loop.
///
/// `@unchecked Sendable`: created on any thread, then used only on its loop.
final class Acceptor: EventLoopSelectable, @unchecked Sendable {
    unowned let server: GRPCServer
    let loop: EventLoop
    let fd: Int32

    init(server: GRPCServer, loop: EventLoop, fd: Int32) {
        self.server = server
        self.loop = loop
        self.fd = fd
    }

    func handleEvents(_ events: UInt32) {
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let c = withUnsafeMutablePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    CSriovShims_accept4(fd, $0, &len, CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC())
                }
            }
            if c < 0 {
                if errno == EMFILE || errno == ENFILE {
                    server.logger.error("accept: out of file descriptors")
                }
                return
            }
            server.accepted(fd: c, remote: Acceptor.format(&storage), loop: loop)
        }
    }

    static func format(_ storage: inout sockaddr_storage) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { s in
                    var a = s.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &buf, 64)
                    return "\(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)):\(UInt16(bigEndian: s.pointee.sin_port))"
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s in
                    var a = s.pointee.sin6_addr
                    inet_ntop(AF_INET6, &a, &buf, 64)
                    return "[\(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))]:\(UInt16(bigEndian: s.pointee.sin6_port))"
                }
            }
        default:
            return "unix"
        }
    }
}
