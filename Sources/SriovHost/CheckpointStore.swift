#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Reads and writes ``HostCheckpoint`` as `checkpoint.json` in a directory.
///
/// A save writes `checkpoint.json.tmp`, fsyncs it, renames it over the old
/// file and fsyncs the directory: after a crash the file is the old or the
/// new checkpoint, never a torn one.
public struct CheckpointStore: Sendable {
    public let directory: String
    public static let fileName = "checkpoint.json"

    public init(directory: String) {
        self.directory = directory
    }

    public var path: String { directory + "/" + Self.fileName }

    /// The stored checkpoint; an empty one when there is none yet.
    ///
    /// - Throws: ``HostError`` (`.checkpoint`) when the file exists but
    ///   cannot be read or decoded.
    public func load() throws(HostError) -> HostCheckpoint {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return HostCheckpoint() }
            throw HostError(.checkpoint, pciAddress: nil, "reading \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { b in retryingEINTR { read(fd, b.baseAddress, b.count) } }
            if n < 0 { throw HostError(.checkpoint, pciAddress: nil, "reading \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        do {
            return try JSONDecoder().decode(HostCheckpoint.self, from: Data(bytes))
        } catch {
            throw HostError(.checkpoint, pciAddress: nil, "\(path) is not a valid checkpoint: \(error)")
        }
    }

    /// Replaces the stored checkpoint atomically.
    public func save(_ checkpoint: HostCheckpoint) throws(HostError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(checkpoint)
        } catch {
            throw HostError(.checkpoint, pciAddress: nil, "encoding the checkpoint: \(error)")
        }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw failure("creating \(directory)")
        }
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("creating \(tmp)") }
        var ok = data.withUnsafeBytes { b -> Bool in
            var offset = 0
            while offset < b.count {
                let n = retryingEINTR { write(fd, b.baseAddress! + offset, b.count - offset) }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlink(tmp)
            throw HostError(.checkpoint, pciAddress: nil, "writing \(tmp): \(String(cString: strerror(writeErrno)))")
        }
        guard rename(tmp, path) == 0 else { throw failure("renaming \(tmp) to \(path)") }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    private func failure(_ what: String) -> HostError {
        HostError(.checkpoint, pciAddress: nil, "\(what): \(String(cString: strerror(errno)))")
    }
}
