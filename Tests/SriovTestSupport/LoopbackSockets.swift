import Glibc
import SriovGRPC

/// Raw loopback sockets for tests: bound ones, and free ports for servers a
/// test starts (and restarts) on a port of its choosing.
public enum LoopbackSockets {
    /// Binds (and, with `listening`, listens on) a socket at 127.0.0.1:0;
    /// returns the descriptor and its port.
    public static func bound(listening: Bool) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
                guard bind(fd, p, len) == 0, !listening || listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, p, &len)
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw RPCError(code: .internal, message: "binding a loopback socket: errno \(e)")
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A loopback port nothing listens on (bound, read, released).
    public static func freePort() throws -> Int {
        let (fd, port) = try bound(listening: false)
        close(fd)
        return port
    }
}
