import Foundation

/// Reads an input file whole, whatever it is: a regular file, `/dev/stdin`,
/// a pipe, a FIFO or a process substitution (`<(...)`), or standard input
/// for `-`. Reading stops with an error as soon as the input passes `limit`
/// bytes, so an endless or huge input costs at most `limit` bytes of memory.
enum InputFile {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        let source = path == "-" ? "<stdin>" : path
        let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ReadError(description: "\(source): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { if fd != 0 { close(fd) } }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(description: "\(source): cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            guard bytes.count + n <= limit else {
                throw ReadError(
                    description: "\(source): input larger than the limit of \(limit) bytes (--max-input-bytes)")
            }
            bytes.append(contentsOf: chunk[..<n])
        }
        return bytes
    }
}
