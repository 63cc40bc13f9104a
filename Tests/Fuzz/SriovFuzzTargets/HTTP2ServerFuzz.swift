import Foundation
import Glibc
import Logging
import SriovGRPC

/// The `h2-server` target: the server side of one HTTP/2 connection (nghttp2
/// session, gRPC routing, the health and reflection handlers) fed hostile
/// frames.
///
/// One plaintext (h2c) ``GRPCServer`` with one event loop runs in the
/// process for the whole campaign, on a Unix socket in a temporary
/// directory (nothing on the network). Each input opens one connection and
/// sends the client preface, an empty SETTINGS, then the input as frames:
/// records of `type, flags, stream, length (2 bytes, little-endian)` and that
/// many payload bytes (fewer if the input ends first), each written with a
/// proper 9-byte frame header, so frame boundaries stay intact and the
/// contents (HPACK blocks, DATA, SETTINGS values, window increments) are the
/// fuzzer's. Stream bytes 0xF0 and up become stream ids near 2³¹. A final
/// PING with a marker payload follows.
///
/// Invariants: the server answers the marker PING, or closes the connection,
/// within 5 seconds (no hang: it has processed every frame before it); it
/// never sends PUSH_PROMISE or a frame on a server-initiated (even) stream;
/// its output parses as HTTP/2 frames. Crashes and memory errors anywhere
/// in the server (its loop thread or a handler) stop the process.
enum HTTP2ServerFuzz {
    static let marker: [UInt8] = Array("sriovfuz".utf8)

    /// The server and the path of its socket, started at first use.
    static let server: (server: GRPCServer, path: String) = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-fuzz-h2-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/server.sock"
        var limits = ServerConfiguration.Limits.defaults
        limits.maxReceiveMessageSize = 64 * 1024
        let health = HealthService()
        let reflection = ReflectionService(services: ["grpc.health.v1.Health"])
        do {
            let server = try GRPCServer(
                configuration: ServerConfiguration(target: .unix(path), security: .insecurePlaintext, threads: 1, limits: limits),
                routes: health.routes + reflection.routes,
                logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
            try server.start()
            return (server, path)
        } catch {
            invariantBroken(.h2Server, "the server did not start: \(error)")
        }
    }()

    static func run(_ data: UnsafeRawBufferPointer) {
        var out = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        H2Frames.append(type: 4, flags: 0, stream: 0, payload: [], to: &out)
        H2Frames.appendRecords(data, to: &out)
        H2Frames.append(type: 6, flags: 0, stream: 0, payload: marker, to: &out)
        exchange(out, path: server.path)
    }

    /// Sends `bytes` on a new connection and reads the answer up to the
    /// marker PING's ACK or the end of the connection.
    static func exchange(_ bytes: [UInt8], path: String) {
        let fd = H2Frames.connectUnix(path)
        guard fd >= 0 else { invariantBroken(.h2Server, "cannot connect to the server: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var reader = H2Frames.Reader()
        var sent = 0
        let deadline = Date().addingTimeInterval(5)
        while true {
            var events = Int16(POLLIN)
            if sent < bytes.count { events |= Int16(POLLOUT) }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let left = deadline.timeIntervalSinceNow
            if left <= 0 {
                invariantBroken(.h2Server, "no answer to the marker PING and no close within 5 s (sent \(sent) of \(bytes.count) bytes)")
            }
            let r = poll(&pfd, 1, Int32(left * 1000) + 1)
            if r < 0 { if errno == EINTR { continue } else { invariantBroken(.h2Server, "poll: \(errno)") } }
            if pfd.revents & Int16(POLLOUT) != 0, sent < bytes.count {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if n > 0 { sent += n } else if errno != EAGAIN && errno != EINTR { sent = bytes.count }
            }
            if pfd.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                if n <= 0 {
                    if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                    return  // closed by the server
                }
                reader.append(buffer[..<n])
                while let frame = reader.next() {
                    if frame.type == 5 { invariantBroken(.h2Server, "the server sent PUSH_PROMISE") }
                    if frame.stream != 0 && frame.stream % 2 == 0 {
                        invariantBroken(.h2Server, "the server sent a frame of type \(frame.type) on the even stream \(frame.stream)")
                    }
                    if frame.type == 6, frame.flags & 1 == 1, frame.payload == marker { return }
                }
            }
        }
    }
}

/// HTTP/2 frames as bytes, for the fuzz targets' peers.
enum H2Frames {
    /// Decodes the targets' input format into frames appended to `out`: each
    /// record is `type, flags, stream, length` (2 bytes, little-endian), then
    /// the payload (cut short at the end of the input); a stream byte of
    /// 0xF0 or more stands for a stream id near 2^31.
    static func appendRecords(_ data: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var input = FuzzInput(data)
        while input.offset < data.count {
            let type = input.byte(), flags = input.byte(), streamByte = input.byte()
            let length = Int(input.byte()) | Int(input.byte()) << 8
            let stream = streamByte < 0xF0 ? UInt32(streamByte) : 0x7FFF_FF00 | UInt32(streamByte)
            let payload = Array(input.rest.prefix(length))
            input.skip(payload.count)
            append(type: type, flags: flags, stream: stream, payload: payload, to: &out)
        }
    }

    static func append(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8], to out: inout [UInt8]) {
        let n = payload.count
        out += [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags]
        out += [UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
        out += payload
    }

    /// A connected non-blocking Unix socket, or -1.
    static func connectUnix(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r != 0 { close(fd); return -1 }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }

    /// Splits received bytes into frames.
    struct Reader {
        private var buffer: [UInt8] = []

        mutating func append(_ bytes: ArraySlice<UInt8>) { buffer += bytes }

        mutating func next() -> (type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])? {
            guard buffer.count >= 9 else { return nil }
            let length = Int(buffer[0]) << 16 | Int(buffer[1]) << 8 | Int(buffer[2])
            guard buffer.count >= 9 + length else { return nil }
            let stream = UInt32(buffer[5] & 0x7f) << 24 | UInt32(buffer[6]) << 16 | UInt32(buffer[7]) << 8 | UInt32(buffer[8])
            let frame = (buffer[3], buffer[4], stream, Array(buffer[9..<9 + length]))
            buffer.removeFirst(9 + length)
            return frame
        }
    }
}
