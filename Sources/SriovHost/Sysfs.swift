/// Access to the kernel's sysfs, rooted at a directory.
///
/// Every path is relative to the root, without a leading slash:
/// `sys/bus/pci/devices/0000:86:00.0/sriov_numvfs`. The host layer reads and
/// writes the machine only through this protocol: ``FileSysfs`` is the real
/// file system under a root (`/` on a node); the simulated kernel
/// (`SriovSimKernel`) implements it over a directory tree and reacts to
/// writes the way the kernel does, so discovery and apply run unchanged in
/// tests and the demo.
public protocol Sysfs: Sendable {
    /// The attribute's content with surrounding white space removed.
    func read(_ path: String) throws(SysfsError) -> String
    /// Writes `value` to an attribute (as `echo -n value > path` would).
    func write(_ path: String, _ value: String) throws(SysfsError)
    /// The names in a directory, sorted.
    func list(_ path: String) throws(SysfsError) -> [String]
    /// The target of a symbolic link, as stored (usually relative).
    func readLink(_ path: String) throws(SysfsError) -> String
    /// Whether the path exists (following symbolic links).
    func exists(_ path: String) -> Bool
    /// Alternative names of a network interface (`ip link` altnames). sysfs
    /// does not carry them; an implementation that cannot tell returns [].
    func alternativeNames(ofInterface name: String) -> [String]
}

/// Paths of the sysfs attributes the host layer uses.
public enum SysfsPath {
    /// The directory of all PCI devices.
    public static let pciDevices = "sys/bus/pci/devices"
    /// Writing a PCI address here makes the kernel probe drivers for it
    /// (honouring `driver_override`).
    public static let driversProbe = "sys/bus/pci/drivers_probe"

    /// A PCI device's directory.
    public static func device(_ pciAddress: String) -> String { "\(pciDevices)/\(pciAddress)" }
    /// One attribute of a PCI device.
    public static func device(_ pciAddress: String, _ attribute: String) -> String { "\(pciDevices)/\(pciAddress)/\(attribute)" }
    /// A driver's `bind` or `unbind` file.
    public static func driver(_ name: String, _ attribute: String) -> String { "sys/bus/pci/drivers/\(name)/\(attribute)" }
    /// One attribute of a network interface.
    public static func netdev(_ name: String, _ attribute: String) -> String { "sys/class/net/\(name)/\(attribute)" }
}
