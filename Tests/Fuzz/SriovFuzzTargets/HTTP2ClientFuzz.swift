import Foundation
import Glibc
import SriovGRPC
import SriovSync

/// The `h2-client` target: the client side of one connection (a
/// ``GRPCChannel`` making a unary health check) talking to a hostile server.
///
/// The target listens on a Unix socket in a temporary directory (nothing on
/// the network). Each input makes a new plaintext channel and starts one call
/// with a 1-second deadline; the target accepts the connection, sends an
/// empty SETTINGS and then the input as frame records (the same format as
/// `h2-server`: `type, flags, stream, length` (2 bytes, little-endian), then
/// the payload, each written with a proper 9-byte header), reads whatever the
/// client sends, and closes the connection once the client closes it, the call
/// ends, or the input is sent and 50 ms pass; a retried call's new connection
/// is closed at once.
///
/// Invariants: the call ends — with a response or an ``RPCError`` — within
/// 5 seconds (no hang in the client whatever the server sends); crashes and
/// memory errors in the client's loop stop the process.
enum HTTP2ClientFuzz {
    /// The listening socket and its path, made at first use.
    static let listener: (fd: Int32, path: String) = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-fuzz-h2c-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/hostile.sock"
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            invariantBroken(.h2Client, "cannot listen on \(path): \(String(cString: strerror(errno)))")
        }
        return (fd, path)
    }()

    /// The outcome of the call, set by its task.
    final class Outcome: Sendable {
        /// Why the call failed when it failed with something other than an
        /// ``RPCError``.
        let unexpected = Locked<String?>(nil)
        let finished = Atomic<Bool>(false)
        let done = DispatchSemaphore(value: 0)
    }

    static func run(_ data: UnsafeRawBufferPointer) {
        let listenFD = listener.fd
        // Connections left over from an earlier input (a transparent retry).
        while case let fd = accept(listenFD, nil, nil), fd >= 0 { close(fd) }

        var out: [UInt8] = []
        H2Frames.append(type: 4, flags: 0, stream: 0, payload: [], to: &out)
        H2Frames.appendRecords(data, to: &out)

        let channel: GRPCChannel
        do {
            channel = try GRPCChannel(configuration: ClientConfiguration(target: .unix(listener.path), security: .insecurePlaintext))
        } catch {
            invariantBroken(.h2Client, "cannot make a channel: \(error)")
        }
        let outcome = Outcome()
        Task {
            do {
                _ = try await channel.unaryRaw(path: "/grpc.health.v1.Health/Check", [], timeout: .seconds(1))
            } catch let error as RPCError {
                _ = error
            } catch {
                outcome.unexpected.withLock { $0 = "\(type(of: error)): \(error)" }
            }
            outcome.finished.store(true, ordering: .releasing)
            outcome.done.signal()
        }
        serve(out, listenFD: listenFD, until: outcome)
        refuseRetries(listenFD: listenFD, until: outcome)
        if outcome.done.wait(timeout: .now() + 5) == .timedOut {
            invariantBroken(.h2Client, "the call did not end within 5 s of its connection closing")
        }
        if let unexpected = outcome.unexpected.withLock({ $0 }) {
            invariantBroken(.h2Client, "the call failed with \(unexpected), not an RPCError")
        }
        channel.close()
    }

    /// Closes every further connection (the transparent retry of a call the
    /// server never saw) at once, until the call ends or 5 s pass, so that such
    /// an input ends in milliseconds rather than at the call's deadline.
    static func refuseRetries(listenFD: Int32, until outcome: Outcome) {
        let giveUp = Date().addingTimeInterval(5)
        while !outcome.finished.load(ordering: .acquiring) && Date() < giveUp {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 5) == 1 {
                let fd = accept(listenFD, nil, nil)
                if fd >= 0 { close(fd) }
            }
        }
    }

    /// Accepts the channel's connection, sends `bytes`, reads until the
    /// client closes, the call ends, or 50 ms after the last byte went out,
    /// then closes.
    static func serve(_ bytes: [UInt8], listenFD: Int32, until outcome: Outcome) {
        var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 2000) == 1 else { return }  // the call failed before connecting
        let fd = accept(listenFD, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        defer { close(fd) }
        var sent = 0
        var quietUntil = Date().addingTimeInterval(3)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < quietUntil && !outcome.finished.load(ordering: .acquiring) {
            var events = Int16(POLLIN)
            if sent < bytes.count { events |= Int16(POLLOUT) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let r = poll(&p, 1, Int32(max(1, min(10, quietUntil.timeIntervalSinceNow * 1000))))
            if r <= 0 { continue }
            if p.revents & Int16(POLLOUT) != 0, sent < bytes.count {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if n > 0 { sent += n } else if errno != EAGAIN && errno != EINTR { return }
                if sent == bytes.count { quietUntil = Date().addingTimeInterval(0.05) }
            }
            if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { return }
            }
        }
    }
}
