import CSriovShims
import COpenSSL
import Glibc
import SriovProto
import Synchronization

/// A client channel: one HTTP/2 connection to one server, opened on first
/// use and reopened after it closes, with gRPC's connection backoff between
/// failed attempts (calls fail fast with UNAVAILABLE while backing off).
public final class GRPCChannel: Sendable {
    public let configuration: ClientConfiguration
    private let loop: EventLoop
    private let tls: TLSContext?
    private let state = Mutex(ChannelState())

    private enum Connection {
        case idle
        case connecting([CheckedContinuation<ClientConnection, any Error>])
        case ready(ClientConnection)
        case backingOff(until: ContinuousClock.Instant, reason: String)
        case closed
    }

    private struct ChannelState {
        var connection: Connection = .idle
        var failures = 0
        var rng = SystemRandomNumberGenerator()
    }

    public init(configuration: ClientConfiguration) throws {
        self.configuration = configuration
        switch configuration.security {
        case .tls(let c, _): tls = try TLSContext.client(c)
        case .insecurePlaintext: tls = nil
        }
        loop = ClientLoops.shared.next()
    }

    deinit {
        if case .ready(let c) = state.withLock({ $0.connection }) {
            let loop = self.loop
            loop.execute { c.fail(nil) }
        }
    }

    /// Closes the connection; later calls fail with UNAVAILABLE.
    public func close() {
        let old = state.withLock { s -> Connection in
            let o = s.connection
            s.connection = .closed
            return o
        }
        switch old {
        case .ready(let c): loop.execute { c.fail(nil) }
        case .connecting(let waiters):
            for w in waiters { w.resume(throwing: RPCError(code: .unavailable, message: "the channel was closed")) }
        default: break
        }
    }

    // MARK: - connection management

    func readyConnection() async throws -> ClientConnection {
        enum Step { case use(ClientConnection), wait, connect, fail(RPCError) }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<ClientConnection, any Error>) in
            let step: Step = state.withLock { s in
                switch s.connection {
                case .ready(let conn) where conn.usableFlag.load(ordering: .acquiring):
                    return .use(conn)
                case .connecting(var waiters):
                    waiters.append(c)
                    s.connection = .connecting(waiters)
                    return .wait
                case .backingOff(let until, let reason) where ContinuousClock.now < until:
                    return .fail(RPCError(code: .unavailable, message: "\(reason) (next attempt in \(until - ContinuousClock.now))"))
                case .closed:
                    return .fail(RPCError(code: .unavailable, message: "the channel was closed"))
                case .ready:
                    // The connection went away under us: open a new one.
                    s.connection = .connecting([c])
                    return .connect
                default:
                    s.connection = .connecting([c])
                    return .connect
                }
            }
            switch step {
            case .use(let conn): c.resume(returning: conn)
            case .wait: break
            case .fail(let e): c.resume(throwing: e)
            case .connect: connect()
            }
        }
    }

    private func connect() {
        let attempt = state.withLock { $0.failures }
        let timeout = configuration.backoff.connectTimeout(attempt: attempt)
        loop.execute { [self] in
            do {
                let conn = try openSocket()
                // Weak: the channel owns the connection, not the other way.
                conn.onReady = { [weak self] conn, error in self?.connectFinished(conn, error) }
                conn.onClosed = { [weak self] conn in self?.connectionClosed(conn) }
                conn.activate()
                loop.schedule(after: nanos(timeout)) { [weak conn] in
                    if let conn, !conn.ready { conn.fail("connect timeout after \(timeout)") }
                }
            } catch {
                connectFinished(nil, "\(error)")
            }
        }
    }

    private func openSocket() throws -> ClientConnection {
        var authority: String
        let fd: Int32
        switch configuration.target {
        case .host(let host, let port):
            authority = BindTarget.host(host, port: port).description
            fd = try SocketAddress.withSockaddr(host: host, port: port) { addr, len, family in
                let fd = try syscall("socket", "for \(configuration.target)") {
                    socket(family, Int32(SOCK_STREAM.rawValue) | CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC(), 0)
                }
                if Glibc.connect(fd, addr, len) != 0 && errno != EINPROGRESS {
                    let e = SystemCallError(call: "connect", object: "\(configuration.target)", errno: errno)
                    Glibc.close(fd)
                    throw e
                }
                SocketAddress.setNoDelay(fd)
                return fd
            }
        case .unix(let path):
            authority = "localhost"
            fd = try syscall("socket", "for \(configuration.target)") {
                socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | CSriovShims_SOCK_NONBLOCK() | CSriovShims_SOCK_CLOEXEC(), 0)
            }
            try SocketAddress.withUnixSockaddr(path: path) { addr, len in
                if Glibc.connect(fd, addr, len) != 0 && errno != EINPROGRESS && errno != EAGAIN {
                    let e = SystemCallError(call: "connect", object: "\(configuration.target)", errno: errno)
                    Glibc.close(fd)
                    throw e
                }
            }
        }
        let conn: ClientConnection
        do {
            conn = try ClientConnection(
                loop: loop, fd: fd, tls: tls, authority: authority, userAgent: configuration.userAgent,
                maxReceiveMessageSize: configuration.maxReceiveMessageSize)
        } catch {
            Glibc.close(fd)
            throw error
        }
        if let ssl = conn.ssl, case .tls(_, let serverName) = configuration.security {
            var name = serverName
            if name == nil, case .host(let h, _) = configuration.target { name = h }
            if let name {
                var probe = in6_addr()
                let isIP = inet_pton(AF_INET, name, &probe) == 1 || inet_pton(AF_INET6, name, &probe) == 1
                _ = CSriovShims_SSL_set_verify_host(ssl, name, isIP ? 1 : 0)
                if !isIP { _ = CSriovShims_SSL_set_tlsext_host_name(ssl, name) }
            }
            _ = CSriovShims_SSL_set_alpn_h2(ssl)
        }
        conn.connecting = true
        return conn
    }

    private func connectFinished(_ conn: ClientConnection?, _ error: String?) {
        let waiters: [CheckedContinuation<ClientConnection, any Error>] = state.withLock { s in
            guard case .connecting(let w) = s.connection else { return [] }
            if let error {
                s.failures += 1
                let delay = configuration.backoff.delay(attempt: s.failures, using: &s.rng)
                s.connection = .backingOff(until: ContinuousClock.now + delay, reason: "connecting to \(configuration.target) failed: \(error)")
            } else if let conn {
                s.failures = 0
                s.connection = .ready(conn)
            }
            return w
        }
        for w in waiters {
            if let error {
                w.resume(throwing: RPCError(code: .unavailable, message: "connecting to \(configuration.target) failed: \(error)"))
            } else if let conn {
                w.resume(returning: conn)
            }
        }
    }

    private func connectionClosed(_ conn: ClientConnection) {
        state.withLock { s in
            if case .ready(let c) = s.connection, c === conn { s.connection = .idle }
        }
    }

    // MARK: - calls

    /// Opens a call. `initial` bytes (one serialized message) are sent with
    /// the headers; `halfClose` ends the request stream after them.
    func open(path: String, metadata: Metadata, timeout: Duration?, initial: [UInt8]?, halfClose: Bool) async throws -> RawClientCall {
        let conn = try await readyConnection()
        let inbound = MessageQueue(highWater: configuration.inboundHighWater) {}
        let gate = OutboundGate(highWater: configuration.outboundHighWater)
        let call = ClientCall(connection: conn, inbound: inbound, gate: gate, maxMessageSize: configuration.maxReceiveMessageSize)
        let handle = RawClientCall(call: call, loop: conn.loop)
        // Weak: the queue belongs to the call; a strong capture would be a cycle.
        let weakCall = WeakReference(call)
        inbound.setOnDrained { [loop = conn.loop] in
            loop.execute {
                if let call = weakCall.object { call.connection.releaseCredit(call.id) }
            }
        }
        let framed = initial.map(MessageFramer.frame)
        let t = timeout.map { GRPCTimeout($0) }
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

    /// Sends one message (framed here); suspends while too much is queued.
    public func send(_ message: [UInt8]) async throws {
        let framed = MessageFramer.frame(message)
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

/// A weak reference that can cross threads.
///
/// `@unchecked Sendable`: weak loads and stores are atomic in Swift; the
/// object is used only on its loop thread.
final class WeakReference<T: AnyObject>: @unchecked Sendable {
    weak var object: T?
    init(_ object: T) { self.object = object }
}
