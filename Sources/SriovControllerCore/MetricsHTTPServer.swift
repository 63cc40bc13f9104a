import Glibc
import Logging
import Synchronization

/// Serves `GET /metrics` (Prometheus text format 0.0.4) over plain HTTP/1.1
/// on one thread with blocking sockets: scrapes are rare and small, so this
/// needs none of the RPC runtime's machinery. Anything else gets 404 (other
/// paths) or 405 (other methods); requests are bounded to 8 KiB and 5 s.
public final class MetricsHTTPServer: Sendable {
    private let fd: Int32
    public let port: Int
    private let render: @Sendable () -> [UInt8]
    private let stopped = Atomic(false)

    /// Binds `host:port` (IPv4 or IPv6 literal; port 0 picks one).
    public init(host: String, port: Int, render: @escaping @Sendable () -> [UInt8]) throws {
        self.render = render
        let v6 = host.contains(":")
        let s = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw MetricsServerError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var bound: Int32
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { close(s); throw MetricsServerError("\(host) is not an IPv6 address") }
            bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { close(s); throw MetricsServerError("\(host) is not an IPv4 address") }
            bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard bound == 0, listen(s, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(s)
            throw MetricsServerError("binding \(host):\(port): \(e)")
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        let actual: UInt16 = withUnsafePointer(to: &storage) { p in
            v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
               : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        fd = s
        self.port = Int(actual)
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let server = Unmanaged<MetricsHTTPServer>.fromOpaque(arg!).takeRetainedValue()
            server.acceptLoop()
            return nil
        }, box.toOpaque())
        pthread_detach(t)
    }

    /// Stops accepting.
    public func stop() {
        if stopped.exchange(true, ordering: .acquiringAndReleasing) { return }
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                break
            }
            serve(c)
            close(c)
        }
        close(fd)
    }

    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192 {
            let n = read(c, &buf, buf.count)
            if n <= 0 { return }
            request += buf[0..<n]
            if request.count >= 4, request.suffix(from: max(0, request.count - n - 3)).containsCRLFCRLF() { break }
        }
        let line = request.prefix { $0 != 0x0D && $0 != 0x0A }
        let parts = line.split(separator: 0x20)
        let method = parts.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        let target = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        if path != "/metrics" {
            respond(c, status: "404 Not Found", type: "text/plain", Array("only /metrics is served here\n".utf8), head: method == "HEAD")
        } else if method != "GET" && method != "HEAD" {
            respond(c, status: "405 Method Not Allowed", type: "text/plain", Array("use GET\n".utf8), head: false, extra: "Allow: GET, HEAD\r\n")
        } else {
            respond(c, status: "200 OK", type: "text/plain; version=0.0.4; charset=utf-8", render(), head: method == "HEAD")
        }
    }

    private func respond(_ c: Int32, status: String, type: String, _ body: [UInt8], head: Bool, extra: String = "") {
        var out = Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n".utf8)
        if !head { out += body }
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}

extension ArraySlice<UInt8> {
    fileprivate func containsCRLFCRLF() -> Bool {
        let a = Array(self)
        guard a.count >= 4 else { return false }
        for i in 0...(a.count - 4) where a[i] == 0x0D && a[i + 1] == 0x0A && a[i + 2] == 0x0D && a[i + 3] == 0x0A {
            return true
        }
        return false
    }
}

/// A failure to serve metrics.
public struct MetricsServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
