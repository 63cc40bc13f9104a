import Logging
import SriovProto

/// Finds the SR-IOV capable PFs and their VFs under a sysfs root.
///
/// A PF is a PCI network device (class `0x02xxxx`) with `sriov_totalvfs`.
/// Devices that are half present (a directory without its attributes, a
/// `virtfn` link to nothing) or unreadable are skipped with a debug log:
/// discovery never fails as a whole.
public struct Discovery: Sendable {
    public let sysfs: any Sysfs
    public var logger: Logger

    public init(sysfs: any Sysfs, logger: Logger = Logger(label: "sriov.host.discovery")) {
        self.sysfs = sysfs
        self.logger = logger
    }

    /// All SR-IOV PFs, sorted by PCI address.
    public func interfaces() -> [SriovV1.InterfaceExt] {
        let devices: [String]
        do {
            devices = try sysfs.list(SysfsPath.pciDevices)
        } catch {
            logger.debug("no PCI devices", metadata: ["error": "\(error)"])
            return []
        }
        var result: [SriovV1.InterfaceExt] = []
        for pci in devices where sysfs.exists(SysfsPath.device(pci, "sriov_totalvfs")) {
            do {
                if let pf = try physicalFunction(pci) { result.append(pf) }
            } catch {
                logger.debug("skipping device", metadata: ["pci": "\(pci)", "error": "\(error)"])
            }
        }
        return result
    }

    /// One PF, or nil when the device is not a network device.
    public func physicalFunction(_ pci: String) throws(SysfsError) -> SriovV1.InterfaceExt? {
        let pciClass = try sysfs.read(SysfsPath.device(pci, "class"))
        guard Self.isNetworkClass(pciClass) else { return nil }
        var pf = SriovV1.InterfaceExt()
        pf.pciAddress = pci
        pf.vendor = Self.hexID(try sysfs.read(SysfsPath.device(pci, "vendor")))
        pf.deviceID = Self.hexID(try sysfs.read(SysfsPath.device(pci, "device")))
        pf.totalvfs = try integer(SysfsPath.device(pci, "sriov_totalvfs"))
        pf.numVfs = try integer(SysfsPath.device(pci, "sriov_numvfs"))
        pf.driver = driver(of: pci)
        pf.eSwitchMode = "legacy"
        if let name = netdevName(of: pci) {
            let net = SysfsPath.device(pci, "net/\(name)")
            pf.name = name
            pf.altNames = sysfs.alternativeNames(ofInterface: name)
            pf.mac = (try? sysfs.read("\(net)/address")) ?? ""
            pf.mtu = try integer("\(net)/mtu")
            // speed is unreadable (EINVAL) or -1 while the link is down.
            if let speed = try? sysfs.read("\(net)/speed"), let mbps = Int(speed), mbps > 0 {
                pf.linkSpeed = "\(mbps) Mb/s"
            }
            pf.linkType = Self.linkType(arpType: (try? sysfs.read("\(net)/type")) ?? "")
            pf.linkAdminState = Self.isAdminUp(flags: (try? sysfs.read("\(net)/flags")) ?? "") ? "up" : "down"
        }
        pf.vfs = virtualFunctions(of: pci)
        return pf
    }

    /// The VFs from the PF's `virtfnN` links, by index.
    func virtualFunctions(of pf: String) -> [SriovV1.VirtualFunction] {
        let links = ((try? sysfs.list(SysfsPath.device(pf))) ?? []).compactMap { name -> Int32? in
            name.hasPrefix("virtfn") ? Int32(name.dropFirst(6)) : nil
        }.sorted()
        var vfs: [SriovV1.VirtualFunction] = []
        for index in links {
            do {
                let target = try sysfs.readLink(SysfsPath.device(pf, "virtfn\(index)"))
                let pci = Self.lastComponent(target)
                var vf = SriovV1.VirtualFunction()
                vf.vfID = index
                vf.pciAddress = pci
                vf.vendor = Self.hexID(try sysfs.read(SysfsPath.device(pci, "vendor")))
                vf.deviceID = Self.hexID(try sysfs.read(SysfsPath.device(pci, "device")))
                vf.driver = driver(of: pci)
                if let name = netdevName(of: pci) {
                    vf.name = name
                    vf.mac = (try? sysfs.read(SysfsPath.device(pci, "net/\(name)/address"))) ?? ""
                    vf.mtu = (try? integer(SysfsPath.device(pci, "net/\(name)/mtu"))) ?? 0
                }
                vfs.append(vf)
            } catch {
                logger.debug("skipping VF", metadata: ["pci": "\(pf)", "vf": "\(index)", "error": "\(error)"])
            }
        }
        return vfs
    }

    /// The bound driver's name, or "" when none is bound.
    func driver(of pci: String) -> String {
        guard let link = try? sysfs.readLink(SysfsPath.device(pci, "driver")) else { return "" }
        return Self.lastComponent(link)
    }

    /// The first netdev under the device's `net/`, if any.
    func netdevName(of pci: String) -> String? {
        (try? sysfs.list(SysfsPath.device(pci, "net")))?.first
    }

    func integer(_ path: String) throws(SysfsError) -> Int32 {
        let text = try sysfs.read(path)
        guard let value = Int32(text) else {
            throw SysfsError(operation: .read, path: path, errno: 0, reason: "\"\(text)\" is not an integer")
        }
        return value
    }

    /// `0x8086` → `8086`.
    static func hexID(_ text: String) -> String {
        (text.hasPrefix("0x") ? String(text.dropFirst(2)) : text).lowercased()
    }

    /// PCI class 0x02xxxx: network controller.
    static func isNetworkClass(_ text: String) -> Bool {
        hexID(text).hasPrefix("02") && hexID(text).count == 6
    }

    /// The netdev `type` (an ARPHRD value): 32 is InfiniBand, anything else Ethernet.
    static func linkType(arpType: String) -> String { arpType == "32" ? "IB" : "ETH" }

    /// IFF_UP in the netdev `flags` (hex).
    static func isAdminUp(flags: String) -> Bool {
        guard let v = Int(hexID(flags), radix: 16) else { return false }
        return v & 0x1 != 0
    }

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
