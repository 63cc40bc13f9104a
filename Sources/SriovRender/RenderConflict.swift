/// Two policies (or one policy and the hardware) that cannot both be honoured
/// on a node: the conditions the upstream operator only rejects in its
/// admission webhook, which its renderer silently resolves by letting the
/// later policy win.
public struct RenderConflict: Error, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// What kind of conflict; extensible.
    public struct Code: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

        /// Two `name#first-last` ranges on the same PF overlap.
        public static let vfRangeOverlap = Code(rawValue: "VFRangeOverlap")
        /// Two policies name the same PF in pfNames without a range.
        public static let samePFName = Code(rawValue: "SamePFName")
        /// Two policies list the same rootDevices entry.
        public static let duplicateRootDevice = Code(rawValue: "DuplicateRootDevice")
        /// Two policies selecting the same PF disagree on externallyManaged.
        public static let externallyManagedMismatch = Code(rawValue: "ExternallyManagedMismatch")
        /// Two policies with the same resourceName disagree on excludeTopology.
        public static let excludeTopologyMismatch = Code(rawValue: "ExcludeTopologyMismatch")
        /// A policy asks for more VFs than the PF's sriov_totalvfs.
        public static let numVfsExceedsTotalVfs = Code(rawValue: "NumVfsExceedsTotalVfs")
        /// A pfNames entry's `#first-last` range does not parse.
        public static let invalidPFNameRange = Code(rawValue: "InvalidPFNameRange")
    }

    /// The kind.
    public var code: Code
    /// The node where the conflict arises.
    public var node: String
    /// The policy applied later (the one that would win), or the only one.
    public var policy: String
    /// The other policy, for conflicts between two.
    public var otherPolicy: String?
    /// The PF's PCI address, when the conflict is about one PF.
    public var pciAddress: String?
    /// The PF's interface name, when known.
    public var pfName: String?
    /// A human explanation naming the field, the value and what is accepted.
    public var message: String

    public init(
        code: Code, node: String, policy: String, otherPolicy: String? = nil,
        pciAddress: String? = nil, pfName: String? = nil, message: String
    ) {
        self.code = code
        self.node = node
        self.policy = policy
        self.otherPolicy = otherPolicy
        self.pciAddress = pciAddress
        self.pfName = pfName
        self.message = message
    }

    /// Whether the conflict involves this policy.
    public func involves(policy name: String) -> Bool {
        policy == name || otherPolicy == name
    }

    public var description: String {
        var where_ = "node \"\(node)\""
        if let pciAddress {
            where_ += ", PF \(pciAddress)"
            if let pfName, !pfName.isEmpty { where_ += " (\(pfName))" }
        }
        return "\(code): \(where_): \(message)"
    }

    private var sortKey: [String] {
        [node, pciAddress ?? "", code.rawValue, policy, otherPolicy ?? "", message]
    }

    public static func < (a: Self, b: Self) -> Bool {
        a.sortKey.lexicographicallyPrecedes(b.sortKey)
    }
}
