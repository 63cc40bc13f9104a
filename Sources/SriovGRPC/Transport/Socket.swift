import CSriovShims
import Glibc

/// A failed system call: its name, the object it acted on and errno's text.
public struct SystemCallError: Error, Sendable, Hashable, CustomStringConvertible {
    public var call: String
    public var object: String
    public var errno: Int32

    public var description: String {
        "\(call) \(object): \(String(cString: strerror(errno)))"
    }
}

/// Retries on EINTR, throws ``SystemCallError`` on -1.
@discardableResult
func syscall(_ call: String, _ object: @autoclosure () -> String, _ body: () -> Int32) throws -> Int32 {
    while true {
        let r = body()
        if r >= 0 { return r }
        if errno == EINTR { continue }
        throw SystemCallError(call: call, object: object(), errno: errno)
    }
}

/// Where a server listens or a client connects.
public enum BindTarget: Sendable, Hashable, CustomStringConvertible {
    /// A host (IPv4 or IPv6 literal, or `localhost`) and a port (0 = any).
    case host(String, port: Int)
    /// A Unix domain socket path.
    case unix(String)

    /// Parses `HOST:PORT`, `[V6]:PORT` or `unix:PATH`.
    public init(parsing text: String) throws {
        if text.hasPrefix("unix:") {
            self = .unix(String(text.dropFirst(5)))
            return
        }
        let bad = SystemCallError(call: "parse", object: "address \"\(text)\" (expected HOST:PORT, [IPV6]:PORT or unix:PATH)", errno: EINVAL)
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw bad
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { throw bad }
        self = .host(host, port: port)
    }

    /// The name a TLS client verifies the server certificate against when
    /// it is given none: the host, or `localhost` for a Unix socket.
    public var defaultServerName: String {
        switch self {
        case .host(let h, _): h
        case .unix: "localhost"
        }
    }

    public var description: String {
        switch self {
        case .host(let h, let p): h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)"
        case .unix(let p): "unix:\(p)"
        }
    }
}

/// Socket address helpers.
enum SocketAddress {
    /// Resolves a literal or `localhost` (no DNS: the runtime speaks to
    /// configured addresses only).
    static func withSockaddr<R>(host: String, port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t, Int32) throws -> R) throws -> R {
        let h = host == "localhost" ? "127.0.0.1" : host
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, h, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            return try withUnsafePointer(to: &v4) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET) }
            }
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, h, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            return try withUnsafePointer(to: &v6) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size), AF_INET6) }
            }
        }
        throw SystemCallError(call: "resolve", object: "host \"\(host)\" (expected an IPv4 or IPv6 literal or localhost)", errno: EINVAL)
    }

    static func withUnixSockaddr<R>(path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) throws -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            throw SystemCallError(call: "bind", object: "unix socket path \"\(path)\" (longer than \(capacity - 1) bytes)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return try withUnsafePointer(to: &addr) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// The local port of a bound socket.
    static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                guard getsockname(fd, sa, &len) == 0 else { return 0 }
                if sa.pointee.sa_family == sa_family_t(AF_INET) {
                    return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
                }
                return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        }
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }
}
