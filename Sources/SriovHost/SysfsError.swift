import Glibc

/// A failed access to a sysfs attribute, with the errno the kernel returned.
///
/// Its description reads like the kernel's answer to a shell redirect:
/// `writing 8 to sriov_numvfs: Device or resource busy`. Callers prefix the
/// device it concerns (`0000:86:00.0: …`).
public struct SysfsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done.
    public enum Operation: String, Sendable, Hashable {
        case read = "reading"
        case write = "writing"
        case list = "listing"
        case readLink = "resolving"
    }

    public var operation: Operation
    /// The path relative to the sysfs root, e.g. `sys/bus/pci/devices/0000:86:00.0/sriov_numvfs`.
    public var path: String
    /// The value written, for writes.
    public var value: String?
    /// The errno, e.g. `EBUSY`; 0 when the failure is not an errno (a
    /// value that does not parse).
    public var errno: Int32
    /// Set when `errno` is 0: what is wrong.
    public var reason: String?

    public init(operation: Operation, path: String, value: String? = nil, errno: Int32, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.value = value
        self.errno = errno
        self.reason = reason
    }

    /// The attribute's own name: the last path component.
    public var attribute: String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The C library's text for `errno`, e.g. "Device or resource busy".
    public var errnoText: String {
        guard errno != 0 else { return reason ?? "unknown error" }
        return String(cString: strerror(errno))
    }

    public var description: String {
        switch operation {
        case .write: "writing \(value.map { $0.isEmpty ? "\"\"" : $0 } ?? "") to \(attribute): \(errnoText)"
        case .read, .list, .readLink: "\(operation.rawValue) \(path): \(errnoText)"
        }
    }
}
