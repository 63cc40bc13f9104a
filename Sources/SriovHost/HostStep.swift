/// One thing ``HostApplier`` does to the kernel: a sysfs write, or a
/// bounded wait for VFs to appear. Plans are lists of steps, compared in
/// tests.
public enum HostStep: Hashable, Sendable, CustomStringConvertible {
    /// Write `value` to the attribute at `path` (root-relative).
    case write(path: String, value: String)
    /// Wait (bounded) until the PF has `count` `virtfnN` links.
    case awaitVirtualFunctions(pciAddress: String, count: Int32)

    public var description: String {
        switch self {
        case .write(let path, let value): "write \(value == DeviceType.clearOverride ? "\"\"" : value) > \(path)"
        case .awaitVirtualFunctions(let pci, let count): "await \(count) VFs of \(pci)"
        }
    }
}

/// The steps for one PF in one round.
public struct PFPlan: Hashable, Sendable {
    public var pciAddress: String
    public var steps: [HostStep]
    /// False when these steps change what the next round plans (VFs are
    /// created or rebound): the applier rediscovers and plans again.
    public var isFinal: Bool

    public init(pciAddress: String, steps: [HostStep], isFinal: Bool) {
        self.pciAddress = pciAddress
        self.steps = steps
        self.isFinal = isFinal
    }

    /// Nothing to write, nothing left.
    public var isEmpty: Bool { steps.isEmpty && isFinal }

    /// The number of writes in the plan.
    public var writeCount: Int {
        steps.reduce(0) { n, s in if case .write = s { n + 1 } else { n } }
    }
}

/// VF driver kinds of a VF group (`deviceType`).
public enum DeviceType {
    /// The kernel's default VF driver (iavf, mlx5_core): the VF has a netdev.
    public static let netdevice = "netdevice"
    /// Userspace I/O through VFIO.
    public static let vfioPCI = "vfio-pci"
    /// What clears `driver_override` (an empty write does not reach the kernel).
    public static let clearOverride = "\n"
}

/// A VF group's inclusive index range `first-last`.
public struct VFRange: Hashable, Sendable, CustomStringConvertible {
    public var first: Int32
    public var last: Int32

    public init(first: Int32, last: Int32) {
        self.first = first
        self.last = last
    }

    /// Parses `"0-7"` (a single `"3"` is `3-3`); nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2,
              let a = Int32(parts[0].trimmingSpaces), let b = Int32(parts[parts.count - 1].trimmingSpaces),
              a >= 0, a <= b
        else { return nil }
        first = a
        last = b
    }

    public func contains(_ index: Int32) -> Bool { index >= first && index <= last }
    public func overlaps(_ other: VFRange) -> Bool { first <= other.last && other.first <= last }
    public var description: String { "\(first)-\(last)" }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
