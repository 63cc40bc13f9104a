import Glibc

/// ``Sysfs`` on the real file system under `root` (`/` on a node, a copy
/// of a sysfs tree in tests).
public struct FileSysfs: Sysfs {
    /// The directory that stands for `/`.
    public let root: String

    public init(root: String = "/") {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r.isEmpty ? "/" : r
    }

    /// The absolute path of a root-relative path.
    public func absolute(_ path: String) -> String {
        root == "/" ? "/" + path : root + "/" + path
    }

    public func read(_ path: String) throws(SysfsError) -> String {
        let fd = retryingEINTR { open(absolute(path), O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw SysfsError(operation: .read, path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { b in retryingEINTR { Glibc.read(fd, b.baseAddress, b.count) } }
            if n < 0 { throw SysfsError(operation: .read, path: path, errno: errno) }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > 1 << 20 { break }
        }
        return trimmed(String(decoding: bytes, as: UTF8.self))
    }

    public func write(_ path: String, _ value: String) throws(SysfsError) {
        let fd = retryingEINTR { open(absolute(path), O_WRONLY | O_TRUNC | O_CLOEXEC) }
        guard fd >= 0 else { throw SysfsError(operation: .write, path: path, value: value, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        // sysfs takes a value in one write(2); a partial write is an error.
        let n = bytes.withUnsafeBytes { b in retryingEINTR { Glibc.write(fd, b.baseAddress, b.count) } }
        if n < 0 { throw SysfsError(operation: .write, path: path, value: value, errno: errno) }
        if n != bytes.count { throw SysfsError(operation: .write, path: path, value: value, errno: EIO) }
    }

    public func list(_ path: String) throws(SysfsError) -> [String] {
        guard let dir = opendir(absolute(path)) else { throw SysfsError(operation: .list, path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func readLink(_ path: String) throws(SysfsError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(absolute(path), &buffer, buffer.count - 1)
        guard n >= 0 else { throw SysfsError(operation: .readLink, path: path, errno: errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func exists(_ path: String) -> Bool {
        access(absolute(path), F_OK) == 0
    }

    /// Altnames from `ip -o link show dev NAME` when the root is the real
    /// `/` (sysfs does not carry them); [] under any other root or when
    /// `ip` is missing.
    public func alternativeNames(ofInterface name: String) -> [String] {
        guard root == "/", !name.isEmpty,
              name.utf8.allSatisfy({ isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else { return [] }
        guard let pipe = popen("ip -o link show dev \(name) 2>/dev/null", "r") else { return [] }
        defer { pclose(pipe) }
        var output: [UInt8] = []
        var buffer = [CChar](repeating: 0, count: 1024)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output.append(contentsOf: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) })
        }
        return Self.parseAltNames(String(decoding: output, as: UTF8.self))
    }

    /// The `altname X` tokens of `ip -o link` output.
    static func parseAltNames(_ text: String) -> [String] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\\" })
        var names: [String] = []
        for (i, w) in words.enumerated() where w == "altname" && i + 1 < words.count {
            names.append(String(words[i + 1]))
        }
        return names
    }
}

/// Removes leading and trailing white space (spaces, tabs, newlines).
func trimmed(_ s: String) -> String {
    var view = Substring(s)
    while let c = view.first, c.isWhitespace { view.removeFirst() }
    while let c = view.last, c.isWhitespace { view.removeLast() }
    return String(view)
}

/// Runs a system call again while it fails with EINTR.
@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let r = call()
        if r < 0 && errno == EINTR { continue }
        return r
    }
}
