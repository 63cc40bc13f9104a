import Glibc
import SriovTestSupport

/// A TCP listener that never accepts: connections complete in the kernel,
/// but nothing ever answers (no TLS handshake, no HTTP/2 preface).
final class BlackHole {
    let fd: Int32
    let port: Int

    init() throws { (fd, port) = try LoopbackSockets.bound(listening: true) }

    deinit { close(fd) }
}
