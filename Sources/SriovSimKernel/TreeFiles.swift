import Glibc

/// Plain POSIX file operations for building and changing the simulated
/// tree (no Foundation: the agent binary stays small).
enum TreeFiles {
    /// `mkdir -p`.
    static func makeDirectories(_ path: String) throws(SimulatedKernelError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SimulatedKernelError("creating \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Creates or replaces a regular file.
    static func writeFile(_ path: String, _ content: String) throws(SimulatedKernelError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SimulatedKernelError("creating \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(content.utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n != bytes.count { throw SimulatedKernelError("writing \(path): \(String(cString: strerror(errno)))") }
    }

    /// The whole file, nil when it cannot be read.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return bytes
    }

    /// Creates (or replaces) a symbolic link `path` → `target`.
    static func link(_ path: String, to target: String) throws(SimulatedKernelError) {
        unlink(path)
        if symlink(target, path) != 0 {
            throw SimulatedKernelError("linking \(path) to \(target): \(String(cString: strerror(errno)))")
        }
    }

    /// `rm -rf` without following symbolic links.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                var names: [String] = []
                while let e = readdir(dir) {
                    let name = withUnsafePointer(to: &e.pointee.d_name) { p in
                        p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(dir)
                for n in names { removeTree(path + "/" + n) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
