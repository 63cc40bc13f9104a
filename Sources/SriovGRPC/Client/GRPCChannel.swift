import COpenSSL
import CSriovShims
import Glibc
import SriovProto
import SriovSync

/// A client channel: one HTTP/2 connection to one server, opened on first
/// use and reopened after it closes, with gRPC's connection backoff between
/// failed attempts.
///
/// While the channel backs off after a failed attempt, calls fail fast with
/// UNAVAILABLE, except wait-for-ready calls: they wait (up to their
/// deadline) while the channel keeps trying to connect in the background.
public final class GRPCChannel: Sendable {
    public let configuration: ClientConfiguration
    private let loop: EventLoop
    private let tls: TLSContext?
    private let state = Locked(ChannelState())

    /// gRPC's connectivity states of a channel.
    public enum Connectivity: Sendable, Hashable {
        case idle, connecting, ready, transientFailure, shutdown
    }

    private enum Connection {
        case idle
        case connecting
        case ready(ClientConnection)
        case backingOff(until: ContinuousClock.Instant, reason: String)
        case closed
    }

    private struct Waiter {
        let continuation: CheckedContinuation<ClientConnection, any Error>
        let waitForReady: Bool
    }

    private struct ChannelState {
        var connection: Connection = .idle
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
        var failures = 0
        var reconnectScheduled = false
        /// The keepalive interval, doubled after each `too_many_pings`.
        var keepaliveInterval: Duration?
        var rng = SystemRandomNumberGenerator()
        /// The address in use among ``ClientConfiguration/target`` and the
        /// alternative targets, and the failed attempts of this round.
        var targetIndex = 0
        var failedInRound = 0
    }

    /// Every address of the server: the target, then the alternatives.
    var targets: [BindTarget] { [configuration.target] + configuration.alternativeTargets }

    /// The address the channel connects to now (or will next).
    public var currentTarget: BindTarget {
        let all = targets
        return all[state.withLock { $0.targetIndex } % all.count]
    }

    public init(configuration: ClientConfiguration) throws {
        self.configuration = configuration
        switch configuration.security {
        case .tls(let c, _): tls = try TLSContext.client(c)
        case .insecurePlaintext: tls = nil
        }
        loop = ClientLoops.shared.next()
        state.withLock { $0.keepaliveInterval = configuration.keepalive?.interval }
    }

    deinit {
        if case .ready(let c) = state.withLock({ $0.connection }) {
            let loop = self.loop
            loop.execute { c.fail(nil) }
        }
    }

    /// Where the channel stands now.
    public var connectivity: Connectivity {
        state.withLock { s in
            switch s.connection {
            case .idle: .idle
            case .connecting: .connecting
            case .ready(let c): c.usableFlag.load(ordering: .acquiring) ? .ready : .idle
            case .backingOff: .transientFailure
            case .closed: .shutdown
            }
        }
    }

    /// The keepalive interval in use (after any `too_many_pings` backoff).
    public var keepaliveInterval: Duration? { state.withLock { $0.keepaliveInterval } }

    /// Closes the connection; later calls fail with UNAVAILABLE.
    public func close() {
        let (old, waiters) = state.withLock { s -> (Connection, [Waiter]) in
            let o = s.connection
            s.connection = .closed
            let w = Array(s.waiters.values)
            s.waiters.removeAll()
            return (o, w)
        }
        if case .ready(let c) = old { loop.execute { c.fail(nil) } }
        for w in waiters { w.continuation.resume(throwing: RPCError(code: .unavailable, message: "the channel was closed")) }
    }

    // MARK: - connection management

    /// A ready connection. Without `waitForReady`, fails fast with
    /// UNAVAILABLE while the channel backs off after a failure; with it,
    /// waits for the channel's next successful attempt. Either way waits at
    /// most until `deadline` (DEADLINE_EXCEEDED) and ends with CANCELLED
    /// when the task is cancelled.
    func readyConnection(waitForReady: Bool, deadline: ContinuousClock.Instant?) async throws -> ClientConnection {
        enum Step { case use(ClientConnection), wait, waitAndRetry(after: Duration), connect, fail(RPCError) }
        // The common case, a connection up and usable: no suspension.
        let (ready, id) = state.withLock { s -> (ClientConnection?, UInt64) in
            if case .ready(let conn) = s.connection, conn.usableFlag.load(ordering: .acquiring) { return (conn, 0) }
            s.nextWaiter += 1
            return (nil, s.nextWaiter)
        }
        if let ready { return ready }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<ClientConnection, any Error>) in
                let step: Step = state.withLock { s in
                    switch s.connection {
                    case .ready(let conn) where conn.usableFlag.load(ordering: .acquiring):
                        return .use(conn)
                    case .connecting:
                        s.waiters[id] = Waiter(continuation: c, waitForReady: waitForReady)
                        return .wait
                    case .backingOff(let until, let reason) where ContinuousClock.now < until:
                        guard waitForReady else {
                            return .fail(RPCError(code: .unavailable, message: "\(reason) (next attempt in \(until - ContinuousClock.now))"))
                        }
                        s.waiters[id] = Waiter(continuation: c, waitForReady: true)
                        // The channel tries again when the backoff ends.
                        if s.reconnectScheduled { return .wait }
                        s.reconnectScheduled = true
                        return .waitAndRetry(after: until - ContinuousClock.now)
                    case .closed:
                        return .fail(RPCError(code: .unavailable, message: "the channel was closed"))
                    case .idle, .ready, .backingOff:
                        // Idle, gone under us, or done backing off: connect.
                        s.connection = .connecting
                        s.waiters[id] = Waiter(continuation: c, waitForReady: waitForReady)
                        return .connect
                    }
                }
                switch step {
                case .use(let conn):
                    c.resume(returning: conn)
                    return
                case .fail(let e):
                    c.resume(throwing: e)
                    return
                case .connect:
                    connect()
                case .wait:
                    break
                case .waitAndRetry(let delay):
                    schedule(after: delay) { $0.backgroundReconnect() }
                }
                if let deadline {
                    schedule(after: deadline - ContinuousClock.now) {
                        $0.dropWaiter(id, RPCError(code: .deadlineExceeded, message: "the deadline expired while waiting for a connection to \($0.configuration.target)"))
                    }
                }
                if Task.isCancelled { dropWaiter(id, RPCError(code: .cancelled, message: "the call was cancelled by the caller")) }
            }
        } onCancel: {
            dropWaiter(id, RPCError(code: .cancelled, message: "the call was cancelled by the caller"))
        }
    }

    /// Runs `action` on the channel's loop after `delay`, from any thread,
    /// unless the channel is gone by then.
    private func schedule(after delay: Duration, _ action: @escaping @Sendable (GRPCChannel) -> Void) {
        let wait = nanos(max(delay, .zero))
        loop.execute { [weak self] in
            self?.loop.schedule(after: wait) { [weak self] in
                if let self { action(self) }
            }
        }
    }

    private func dropWaiter(_ id: UInt64, _ error: RPCError) {
        let w = state.withLock { $0.waiters.removeValue(forKey: id) }
        w?.continuation.resume(throwing: error)
    }

    private func connect() {
        let (attempt, keepaliveInterval, index) = state.withLock { ($0.failures, $0.keepaliveInterval, $0.targetIndex) }
        let all = targets
        let target = all[index % all.count]
        // With alternatives, a dead address must not hold the channel for
        // the whole connect timeout: each gets its share of the minimum.
        let timeout = all.count > 1 ? max(.milliseconds(500), configuration.backoff.minConnectTimeout / all.count)
            : configuration.backoff.connectTimeout(attempt: attempt)
        loop.execute { [self] in
            do {
                let conn = try openSocket(target)
                // Weak: the channel owns the connection, not the other way.
                conn.onReady = { [weak self] conn, error in self?.connectFinished(conn, error) }
                conn.onClosed = { [weak self] conn in self?.connectionClosed(conn) }
                if var k = configuration.keepalive, let keepaliveInterval {
                    k.interval = keepaliveInterval
                    conn.keepalive = k
                    conn.onTooManyPings = { [weak self] in self?.slowDownKeepalive() }
                }
                conn.activate()
                conn.connectTimer = loop.schedule(after: nanos(timeout)) { [conn] in
                    conn.connectTimer = nil
                    if !conn.ready { conn.fail("connect timeout after \(timeout)") }
                }
            } catch {
                connectFinished(nil, "\(error)")
            }
        }
    }

    private func slowDownKeepalive() {
        state.withLock { s in
            if let i = s.keepaliveInterval { s.keepaliveInterval = i * 2 }
        }
    }

    private func openSocket(_ target: BindTarget) throws -> ClientConnection {
        var authority: String
        let fd: Int32
        switch target {
        case .host(let host, let port):
            authority = BindTarget.host(host, port: port).description
            fd = try SocketAddress.withSockaddr(host: host, port: port) { addr, len, family in
                let fd = try syscall("socket", "for \(target)") {
                    socket(family, Int32(SOCK_STREAM.rawValue) | CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC(), 0)
                }
                if Glibc.connect(fd, addr, len) != 0 && errno != EINPROGRESS {
                    let e = SystemCallError(call: "connect", object: "\(target)", errno: errno)
                    Glibc.close(fd)
                    throw e
                }
                SocketAddress.setNoDelay(fd)
                return fd
            }
        case .unix(let path):
            authority = "localhost"
            fd = try syscall("socket", "for \(target)") {
                socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC(), 0)
            }
            try SocketAddress.withUnixSockaddr(path: path) { addr, len in
                if Glibc.connect(fd, addr, len) != 0 && errno != EINPROGRESS && errno != EAGAIN {
                    let e = SystemCallError(call: "connect", object: "\(target)", errno: errno)
                    Glibc.close(fd)
                    throw e
                }
            }
        }
        let conn: ClientConnection
        do {
            conn = try ClientConnection(
                loop: loop, fd: fd, tls: tls, authority: authority, userAgent: configuration.userAgent,
                maxReceiveMessageSize: configuration.maxReceiveMessageSize, compression: configuration.compression)
        } catch {
            Glibc.close(fd)
            throw error
        }
        if let ssl = conn.ssl, case .tls(_, let serverName) = configuration.security {
            do {
                try Self.setServerName(ssl, serverName ?? target.defaultServerName)
            } catch {
                Glibc.close(fd)
                throw error
            }
            _ = CSriovShims_SSL_set_alpn_h2(ssl)
        }
        conn.connecting = true
        return conn
    }

    /// Makes the handshake verify the server certificate against `name` (a
    /// DNS name or an IP literal) and sends it as SNI when it is a name.
    /// Throws when OpenSSL does not take it: a connection never goes
    /// without a name check.
    static func setServerName(_ ssl: OpaquePointer, _ name: String) throws {
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw TLSError(operation: "setting the server name to verify", reason: "\"\(SPIFFEIDError.escape(name.utf8))\" is not a DNS name or an IP address")
        }
        var probe = in6_addr()
        let isIP = inet_pton(AF_INET, name, &probe) == 1 || inet_pton(AF_INET6, name, &probe) == 1
        CSriovShims_ERR_clear_error()
        guard CSriovShims_SSL_set_verify_host(ssl, name, isIP ? 1 : 0) == 1 else {
            throw TLSError(operation: "setting the server name \"\(SPIFFEIDError.escape(name.utf8))\" to verify", reason: TLSError.drain("").reason)
        }
        if !isIP && CSriovShims_SSL_set_tlsext_host_name(ssl, name) != 1 {
            throw TLSError(operation: "setting the server name \"\(SPIFFEIDError.escape(name.utf8))\" for SNI", reason: TLSError.drain("").reason)
        }
    }

    private func connectFinished(_ conn: ClientConnection?, _ error: String?) {
        var retryAfter: Duration?
        var orphan: ClientConnection?
        let waiters: [Waiter] = state.withLock { s in
            guard case .connecting = s.connection else {
                // The channel was closed while connecting.
                orphan = conn
                return []
            }
            if error != nil, targets.count > 1, s.failedInRound + 1 < targets.count {
                // Another address of the server is left in this round: try
                // it at once, keeping every waiting call.
                s.failedInRound += 1
                s.targetIndex = (s.targetIndex + 1) % targets.count
                retryAfter = .zero
                return []
            }
            if let error {
                s.failedInRound = 0
                s.targetIndex = (s.targetIndex + 1) % targets.count
                s.failures += 1
                let delay = configuration.backoff.delay(attempt: s.failures, using: &s.rng)
                s.connection = .backingOff(until: ContinuousClock.now + delay, reason: "connecting to \(configuration.target) failed: \(error)")
                // Fail-fast calls fail now; wait-for-ready calls stay for
                // the next attempt, which starts by itself after the delay.
                let failing = s.waiters.filter { !$0.value.waitForReady }
                for id in failing.keys { s.waiters.removeValue(forKey: id) }
                if !s.waiters.isEmpty && !s.reconnectScheduled {
                    s.reconnectScheduled = true
                    retryAfter = delay
                }
                return Array(failing.values)
            } else if let conn {
                s.failures = 0
                s.failedInRound = 0
                s.connection = .ready(conn)
                let all = Array(s.waiters.values)
                s.waiters.removeAll()
                return all
            }
            return []
        }
        if let orphan, error == nil {
            loop.execute { orphan.fail(nil) }
        }
        for w in waiters {
            if let error {
                w.continuation.resume(throwing: RPCError(code: .unavailable, message: "connecting to \(configuration.target) failed: \(error)"))
            } else if let conn {
                w.continuation.resume(returning: conn)
            }
        }
        if retryAfter == .zero && error != nil {
            connect()
        } else if let retryAfter {
            schedule(after: retryAfter) { $0.backgroundReconnect() }
        }
    }

    /// The backoff delay passed with wait-for-ready calls waiting: try again.
    private func backgroundReconnect() {
        let go = state.withLock { s -> Bool in
            s.reconnectScheduled = false
            guard case .backingOff = s.connection, !s.waiters.isEmpty else { return false }
            s.connection = .connecting
            return true
        }
        if go { connect() }
    }

    private func connectionClosed(_ conn: ClientConnection) {
        state.withLock { s in
            if case .ready(let c) = s.connection, c === conn {
                s.connection = .idle
                // The server went away: with replicas, the next attempt goes
                // to the next address first.
                if configuration.alternativeTargets.count > 0 { s.targetIndex = (s.targetIndex + 1) % targets.count }
            }
        }
    }

    // MARK: - calls

    /// Opens a call. `initial` bytes (one serialized message) are sent with
    /// the headers; `halfClose` ends the request stream after them.
    func open(path: String, metadata: Metadata, timeout: Duration?, waitForReady: Bool, initial: [UInt8]?, halfClose: Bool) async throws -> RawClientCall {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let conn = try await readyConnection(waitForReady: waitForReady, deadline: deadline)
        // The time spent connecting counts against the deadline.
        var remaining = timeout
        if let deadline, let timeout {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw RPCError(code: .deadlineExceeded, message: "the deadline of \(timeout) expired before the call was sent")
            }
            // Keep the header value stable (HPACK-indexable) unless waiting
            // for the connection took a noticeable part of the budget.
            if timeout - left > .milliseconds(1) { remaining = left }
        }
        let inbound = MessageQueue(highWater: configuration.inboundHighWater, maxMessageSize: configuration.maxReceiveMessageSize) {}
        let gate = OutboundGate(highWater: configuration.outboundHighWater)
        let call = ClientCall(connection: conn, inbound: inbound, gate: gate, maxMessageSize: configuration.maxReceiveMessageSize)
        let handle = RawClientCall(call: call, loop: conn.loop, compression: configuration.compression)
        let framed = initial.map(configuration.compression.frame)
        let t = remaining.map { GRPCTimeout($0) }
        conn.loop.execute {
            if let framed { call.enqueue(framed, end: halfClose) } else if halfClose { call.enqueue([], end: true) }
            conn.start(call, path: path, metadata: metadata, timeout: t)
        }
        return handle
    }
}

/// A shared pool of client event loops (one per core), so that channels do
/// not each need a thread.
final class ClientLoops: Sendable {
    static let shared = ClientLoops(count: max(1, System.coreCount))
    private let loops: [EventLoop]
    private let counter = Atomic<Int>(0)

    init(count: Int) {
        loops = (0..<count).map { i in
            let l = EventLoop(name: "grpc-client-\(i)")
            l.start()
            return l
        }
    }

    func next() -> EventLoop {
        loops[counter.add(1, ordering: .relaxed).newValue % loops.count]
    }
}

/// A call in progress, over serialized messages.
public struct RawClientCall: Sendable {
    let call: ClientCall
    let loop: EventLoop
    let compression: MessageCompression

    /// Sends one message (framed here); suspends while too much is queued.
    public func send(_ message: [UInt8]) async throws {
        let framed = compression.frame(message)
        try await call.gate.reserve(framed.count)
        loop.execute { [call] in call.enqueue(framed, end: false) }
    }

    /// Ends the request stream.
    public func closeSend() {
        loop.execute { [call] in call.enqueue([], end: true) }
    }

    /// The next response; nil after an OK status; throws ``RPCError`` for
    /// any other status.
    public func receive() async throws -> [UInt8]? {
        do {
            return try await call.inbound.next()
        } catch is CancellationError {
            cancel()
            throw RPCError(code: .cancelled, message: "the call was cancelled by the caller")
        } catch let e as RPCError {
            // A response that did not inflate ends the call here; for an
            // error the server sent, the call is already complete and this
            // does nothing.
            loop.execute { [call] in call.connection.cancel(call, error: e) }
            throw e
        }
    }

    /// Whether the call failed before the server saw it. Read only after
    /// `receive()` threw (the queue's lock orders it after the loop's write).
    var wasNotSent: Bool { call.notSent }

    /// Cancels the call (RST_STREAM CANCEL).
    public func cancel() {
        loop.execute { [call] in
            call.connection.cancel(call, error: RPCError(code: .cancelled, message: "the call was cancelled by the caller"))
        }
    }
}
