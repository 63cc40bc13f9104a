/// Why configuring a PF (or the node) failed.
///
/// The description names the device first and then exactly what failed:
/// `0000:86:00.0: writing 8 to sriov_numvfs: Device or resource busy`.
public struct HostError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure; extensible.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A sysfs read or write failed (``HostError/cause`` has the errno).
        public static let sysfs = Code(rawValue: "sysfs")
        /// The spec asks for something impossible on this PF.
        public static let invalidSpec = Code(rawValue: "invalid-spec")
        /// The PF is not on this node (or vanished).
        public static let notFound = Code(rawValue: "not-found")
        /// The spec asks for a feature this agent does not apply.
        public static let unsupported = Code(rawValue: "unsupported")
        /// Needs a firmware change and a reboot; the message has the command.
        public static let firmwareLimit = Code(rawValue: "firmware-limit")
        /// An externally managed PF does not have what the spec asks for.
        public static let externallyManaged = Code(rawValue: "externally-managed")
        /// The kernel did not reach the wanted state (VFs did not appear).
        public static let notConverged = Code(rawValue: "not-converged")
        /// The checkpoint could not be read or written.
        public static let checkpoint = Code(rawValue: "checkpoint")
    }

    public var code: Code
    /// The PF concerned, if any.
    public var pciAddress: String?
    /// What failed, without the PCI address.
    public var message: String
    /// The sysfs failure underneath, if any.
    public var cause: SysfsError?

    public init(_ code: Code, pciAddress: String?, _ message: String, cause: SysfsError? = nil) {
        self.code = code
        self.pciAddress = pciAddress
        self.message = message
        self.cause = cause
    }

    /// A failed sysfs access on `pciAddress`'s behalf.
    public init(pciAddress: String, _ cause: SysfsError, context: String? = nil) {
        self.init(.sysfs, pciAddress: pciAddress, (context.map { "\($0): " } ?? "") + cause.description, cause: cause)
    }

    public var description: String {
        pciAddress.map { "\($0): \(message)" } ?? message
    }
}
