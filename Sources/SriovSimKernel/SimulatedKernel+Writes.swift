#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import SriovHost

/// The kernel's reactions to writes. Everything here runs under the state
/// lock, so writes of concurrent callers are carried out one at a time.
extension SimulatedKernel {
    func perform(_ path: String, _ value: String, _ s: inout State) throws(SysfsError) {
        let real = try resolve(path, value: value)
        try applyFaults(path: real, value: value, &s)
        let p = real.split(separator: "/").map(String.init)
        let fail = { (code: Int32) in SysfsError(operation: .write, path: path, value: value, errno: code) }
        let v = String(value.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())

        switch p.count {
        case 4 where real == SysfsPath.driversProbe:
            try probe(v, fail)
        case 6 where p[3] == "drivers" && p[5] == "unbind":
            try unbind(v, from: p[4], fail)
        case 6 where p[3] == "drivers" && p[5] == "bind":
            guard files.exists(real) else { throw fail(ENOENT) }
            try bind(v, to: p[4], fail)
        case 6 where p[3] == "devices" && p[5] == "sriov_numvfs":
            try setNumVfs(p[4], v, &s, fail)
        case 6 where p[3] == "devices" && p[5] == "driver_override":
            guard files.exists(real) else { throw fail(ENOENT) }
            try? TreeFiles.writeFile(files.absolute(real), (v.isEmpty ? "(null)" : v) + "\n")
        case 8 where p[3] == "devices" && p[5] == "net" && p[7] == "mtu":
            try setMTU(device: p[4], netdev: p[6], v, fail)
        case 8 where p[3] == "devices" && p[5] == "net" && p[7] == "flags":
            guard let flags = Int(v.hasPrefix("0x") ? String(v.dropFirst(2)) : v, radix: v.hasPrefix("0x") ? 16 : 10) else { throw fail(EINVAL) }
            let net = "sys/bus/pci/devices/\(p[4])/net/\(p[6])"
            try? TreeFiles.writeFile(files.absolute("\(net)/flags"), "0x\(String(flags, radix: 16))\n")
            try? TreeFiles.writeFile(files.absolute("\(net)/operstate"), (flags & 1 != 0 ? "up" : "down") + "\n")
        default:
            // Everything else is read-only (or absent), as in sysfs.
            throw fail(files.exists(real) ? EACCES : ENOENT)
        }
    }

    /// `sys/class/net/NAME/attr` → `sys/bus/pci/devices/PCI/net/NAME/attr`.
    func resolve(_ path: String, value: String) throws(SysfsError) -> String {
        let p = path.split(separator: "/").map(String.init)
        guard p.count == 5, p[0] == "sys", p[1] == "class", p[2] == "net" else { return path }
        guard let target = try? files.readLink("sys/class/net/\(p[3])") else {
            throw SysfsError(operation: .write, path: path, value: value, errno: ENOENT)
        }
        // ../../bus/pci/devices/PCI/net/NAME
        let t = target.split(separator: "/").filter { $0 != ".." }.map(String.init)
        return "sys/" + t.joined(separator: "/") + "/" + p[4]
    }

    // MARK: sriov_numvfs

    func setNumVfs(_ pci: String, _ v: String, _ s: inout State, _ fail: (Int32) -> SysfsError) throws(SysfsError) {
        guard let pf = machine.pf(pci), files.exists(SysfsPath.device(pci, "sriov_numvfs")) else { throw fail(ENOENT) }
        guard let n = Int(v), n >= 0 else { throw fail(EINVAL) }
        if n > pf.model.totalVfs { throw fail(EINVAL) }
        let current = Int((try? files.read(SysfsPath.device(pci, "sriov_numvfs"))) ?? "0") ?? 0
        if n == current { return }
        if current != 0 && n != 0 { throw fail(EBUSY) }
        if n == 0 {
            s.pending[pci] = nil
            removeVirtualFunctions(pf)
        }
        try? TreeFiles.writeFile(files.absolute(SysfsPath.device(pci, "sriov_numvfs")), "\(n)\n")
        guard n > 0 else { return }
        for case .lateVirtualFunctions(let target, let ms) in loadFaults() where target == pci {
            s.pending[pci] = Pending(count: n, readyAt: .now + .milliseconds(ms))
            return
        }
        createVirtualFunctions(pf, count: n)
    }

    func createVirtualFunctions(_ pf: SimulatedMachine.PF, count: Int) {
        for i in 0..<count {
            let vf = pf.vfAddress(i)
            let dir = files.absolute(SysfsPath.device(vf))
            try? TreeFiles.makeDirectories(dir)
            for (name, value) in [("vendor", "0x" + pf.model.vendor), ("device", "0x" + pf.model.vfDevice), ("class", "0x020000"),
                                  ("driver_override", "(null)")] {
                try? TreeFiles.writeFile("\(dir)/\(name)", value + "\n")
            }
            try? TreeFiles.link("\(dir)/physfn", to: "../\(pf.pciAddress)")
            try? TreeFiles.link(files.absolute(SysfsPath.device(pf.pciAddress, "virtfn\(i)")), to: "../\(vf)")
            // The default VF driver probes the new device at once.
            attach(vf, driver: pf.model.vfDriver)
        }
    }

    func removeVirtualFunctions(_ pf: SimulatedMachine.PF) {
        let names = (try? files.list(SysfsPath.device(pf.pciAddress))) ?? []
        for name in names where name.hasPrefix("virtfn") {
            let link = SysfsPath.device(pf.pciAddress, name)
            if let target = try? files.readLink(link) {
                let vf = String(target.split(separator: "/").last ?? "")
                detach(vf)
                TreeFiles.removeTree(files.absolute(SysfsPath.device(vf)))
            }
            unlink(files.absolute(link))
        }
    }

    /// Creates the VFs of PFs whose late-VF delay has passed.
    func materializeDueVirtualFunctions() {
        state.withLock { s in
            guard !s.pending.isEmpty else { return }
            let now = ContinuousClock.now
            for (pci, p) in s.pending where p.readyAt <= now {
                s.pending[pci] = nil
                if let pf = machine.pf(pci) { createVirtualFunctions(pf, count: p.count) }
            }
        }
    }

    // MARK: drivers

    /// The driver a device gets without `driver_override`.
    func defaultDriver(_ pci: String) -> String? {
        if let pf = machine.pf(pci) { return pf.model.pfDriver }
        return machine.vf(pci)?.pf.model.vfDriver
    }

    func currentDriver(_ pci: String) -> String? {
        (try? files.readLink(SysfsPath.device(pci, "driver"))).map { String($0.split(separator: "/").last ?? "") }
    }

    func probe(_ pci: String, _ fail: (Int32) -> SysfsError) throws(SysfsError) {
        guard files.exists(SysfsPath.device(pci)) else { throw fail(ENODEV) }
        if currentDriver(pci) != nil { return }
        let override = (try? files.read(SysfsPath.device(pci, "driver_override"))) ?? "(null)"
        let driver = override == "(null)" || override.isEmpty ? defaultDriver(pci) : override
        guard let driver, files.exists("sys/bus/pci/drivers/\(driver)") else { return }
        attach(pci, driver: driver)
    }

    func bind(_ pci: String, to driver: String, _ fail: (Int32) -> SysfsError) throws(SysfsError) {
        guard files.exists(SysfsPath.device(pci)) else { throw fail(ENODEV) }
        if currentDriver(pci) != nil { throw fail(EBUSY) }
        guard driver == DeviceType.vfioPCI || driver == defaultDriver(pci) else { throw fail(ENODEV) }
        attach(pci, driver: driver)
    }

    func unbind(_ pci: String, from driver: String, _ fail: (Int32) -> SysfsError) throws(SysfsError) {
        guard currentDriver(pci) == driver else { throw fail(ENODEV) }
        detach(pci)
    }

    /// Binds without checks: the `driver` link and, for a netdevice
    /// driver, a fresh netdev (MTU 1500, as the driver sets it).
    func attach(_ pci: String, driver: String) {
        try? TreeFiles.link(files.absolute(SysfsPath.device(pci, "driver")), to: "../../drivers/\(driver)")
        guard driver != DeviceType.vfioPCI, let (pf, index) = machine.vf(pci) else { return }
        try? Self.makeNetdev(fs: files, device: pci, name: pf.vfName(index), mac: pf.vfMAC(index), mtu: 1500, up: true, speed: nil)
    }

    /// Unbinds: the driver link and the netdev go.
    func detach(_ pci: String) {
        unlink(files.absolute(SysfsPath.device(pci, "driver")))
        for name in (try? files.list(SysfsPath.device(pci, "net"))) ?? [] {
            unlink(files.absolute("sys/class/net/\(name)"))
        }
        TreeFiles.removeTree(files.absolute(SysfsPath.device(pci, "net")))
    }

    static func makeNetdev(fs: FileSysfs, device: String, name: String, mac: String, mtu: Int, up: Bool, speed: Int?) throws(SimulatedKernelError) {
        let net = fs.absolute(SysfsPath.device(device, "net/\(name)"))
        try TreeFiles.makeDirectories(net)
        var attributes = [("address", mac), ("mtu", "\(mtu)"), ("type", "1"), ("flags", up ? "0x1003" : "0x1002"),
                          ("operstate", up ? "up" : "down")]
        if let speed { attributes.append(("speed", "\(speed)")) }
        for (attribute, value) in attributes { try TreeFiles.writeFile("\(net)/\(attribute)", value + "\n") }
        try TreeFiles.link(fs.absolute("sys/class/net/\(name)"), to: "../../bus/pci/devices/\(device)/net/\(name)")
    }

    // MARK: MTU

    func setMTU(device: String, netdev: String, _ v: String, _ fail: (Int32) -> SysfsError) throws(SysfsError) {
        let path = SysfsPath.device(device, "net/\(netdev)/mtu")
        guard files.exists(path) else { throw fail(ENOENT) }
        guard let mtu = Int(v) else { throw fail(EINVAL) }
        let model = machine.pf(device)?.model ?? machine.vf(device)?.pf.model
        if mtu < 68 || mtu > (model?.maxMtu ?? 9000) { throw fail(EINVAL) }
        if let (pf, _) = machine.vf(device) {
            // A VF's MTU cannot exceed its PF's.
            let pfMtu = Int((try? files.read(SysfsPath.device(pf.pciAddress, "net/\(pf.name)/mtu"))) ?? "") ?? 0
            if mtu > pfMtu { throw fail(EINVAL) }
        }
        try? TreeFiles.writeFile(files.absolute(path), "\(mtu)\n")
    }

    // MARK: faults

    func loadFaults() -> [SimulatedFault] {
        guard let bytes = TreeFiles.readFile(files.absolute("\(Self.metadataDirectory)/faults.json")) else { return [] }
        return (try? JSONDecoder().decode([SimulatedFault].self, from: Data(bytes))) ?? []
    }

    func saveFaults(_ faults: [SimulatedFault]) throws(SimulatedKernelError) {
        let json: String
        do {
            json = String(decoding: try JSONEncoder().encode(faults), as: UTF8.self)
        } catch {
            throw SimulatedKernelError("encoding faults: \(error)")
        }
        let path = files.absolute("\(Self.metadataDirectory)/faults.json")
        try TreeFiles.writeFile(path + ".tmp", json + "\n")
        guard rename(path + ".tmp", path) == 0 else { throw SimulatedKernelError("replacing \(path): \(String(cString: strerror(errno)))") }
    }

    func applyFaults(path: String, value: String, _ s: inout State) throws(SysfsError) {
        var faults = loadFaults()
        for (i, fault) in faults.enumerated() {
            switch fault {
            case .failWrite(let suffix, let code, let times) where path.hasSuffix(suffix):
                if let times {
                    if times <= 1 { faults.remove(at: i) } else { faults[i] = .failWrite(pathSuffix: suffix, errno: code, times: times - 1) }
                    try? saveFaults(faults)
                }
                throw SysfsError(operation: .write, path: path, value: value, errno: code)
            case .vanishOnWrite(let suffix, let pci) where path.hasSuffix(suffix):
                faults.remove(at: i)
                try? saveFaults(faults)
                vanish(pci, &s)
                throw SysfsError(operation: .write, path: path, value: value, errno: ENODEV)
            default:
                continue
            }
        }
    }

    func vanish(_ pci: String, _ s: inout State) {
        s.pending[pci] = nil
        if let pf = machine.pf(pci) { removeVirtualFunctions(pf) }
        detach(pci)
        TreeFiles.removeTree(files.absolute(SysfsPath.device(pci)))
    }
}
