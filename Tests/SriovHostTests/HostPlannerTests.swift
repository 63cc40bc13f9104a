import SriovHost
import SriovProto
import Testing

/// The pure plan: given a PF as discovered and its desired spec, the steps.
@Suite("HostPlanner")
struct HostPlannerTests {
    static func pf(numVfs: Int32 = 0, mtu: Int32 = 1500, vendor: String = "8086", totalvfs: Int32 = 64, up: Bool = true,
                   vfs: [(driver: String, mtu: Int32)] = [], linkType: String = "ETH") -> SriovV1.InterfaceExt {
        var p = SriovV1.InterfaceExt()
        p.pciAddress = "0000:86:00.0"
        p.name = "ens1f0"
        p.vendor = vendor
        p.numVfs = numVfs
        p.totalvfs = totalvfs
        p.mtu = mtu
        p.linkType = linkType
        p.linkAdminState = up ? "up" : "down"
        p.vfs = vfs.enumerated().map { i, v in
            var vf = SriovV1.VirtualFunction()
            vf.vfID = Int32(i)
            vf.pciAddress = "0000:87:00.\(i)"
            vf.driver = v.driver
            vf.mtu = v.mtu
            vf.name = v.driver == "vfio-pci" ? "" : "ens1f0v\(i)"
            return vf
        }
        return p
    }

    static let numvfs = "sys/bus/pci/devices/0000:86:00.0/sriov_numvfs"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var desired: SriovV1.Interface
        var observed: SriovV1.InterfaceExt
        var steps: [HostStep]
        var isFinal: Bool
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "creating VFs writes the count and waits for them, nothing else in that round",
             desired: iface("0000:86:00.0", numVfs: 4), observed: pf(),
             steps: [.write(path: numvfs, value: "4"), .awaitVirtualFunctions(pciAddress: "0000:86:00.0", count: 4)], isFinal: false),
        Case(name: "changing the count goes through 0",
             desired: iface("0000:86:00.0", numVfs: 2), observed: pf(numVfs: 1, vfs: [("iavf", 1500)]),
             steps: [.write(path: numvfs, value: "0"), .write(path: numvfs, value: "2"), .awaitVirtualFunctions(pciAddress: "0000:86:00.0", count: 2)],
             isFinal: false),
        Case(name: "the PF MTU is raised before the VFs are created",
             desired: iface("0000:86:00.0", numVfs: 1, mtu: 9000), observed: pf(),
             steps: [.write(path: "sys/class/net/ens1f0/mtu", value: "9000"), .write(path: numvfs, value: "1"),
                     .awaitVirtualFunctions(pciAddress: "0000:86:00.0", count: 1)], isFinal: false),
        Case(name: "the PF MTU is never lowered",
             desired: iface("0000:86:00.0", numVfs: 1, mtu: 1500), observed: pf(numVfs: 1, mtu: 9000, vfs: [("iavf", 1500)]),
             steps: [], isFinal: true),
        Case(name: "vfio-pci: driver_override, unbind, drivers_probe",
             desired: iface("0000:86:00.0", numVfs: 1, [group("0-0", "vfio-pci")]), observed: pf(numVfs: 1, vfs: [("iavf", 1500)]),
             steps: [.write(path: "sys/bus/pci/devices/0000:87:00.0/driver_override", value: "vfio-pci"),
                     .write(path: "sys/bus/pci/drivers/iavf/unbind", value: "0000:87:00.0"),
                     .write(path: "sys/bus/pci/drivers_probe", value: "0000:87:00.0")], isFinal: false),
        Case(name: "netdevice: back from vfio-pci through the default driver",
             desired: iface("0000:86:00.0", numVfs: 1, [group("0-0", "netdevice")]), observed: pf(numVfs: 1, vfs: [("vfio-pci", 0)]),
             steps: [.write(path: "sys/bus/pci/devices/0000:87:00.0/driver_override", value: "\n"),
                     .write(path: "sys/bus/pci/drivers/vfio-pci/unbind", value: "0000:87:00.0"),
                     .write(path: "sys/bus/pci/drivers_probe", value: "0000:87:00.0")], isFinal: false),
        Case(name: "each group's VF MTU; VFs outside every group are left alone; the PF is brought up",
             desired: iface("0000:86:00.0", numVfs: 4, mtu: 9000, [group("0-1", mtu: 9000, policy: "a"), group("2-2", mtu: 1400, policy: "b")]),
             observed: pf(numVfs: 4, mtu: 9000, up: false, vfs: [("iavf", 1500), ("iavf", 9000), ("iavf", 1500), ("vfio-pci", 0)]),
             steps: [.write(path: "sys/class/net/ens1f0v0/mtu", value: "9000"), .write(path: "sys/class/net/ens1f0v2/mtu", value: "1400"),
                     .write(path: "sys/class/net/ens1f0/flags", value: HostPlanner.upFlags)], isFinal: true),
        Case(name: "a PF that matches plans nothing",
             desired: iface("0000:86:00.0", numVfs: 2, [group("0-0", "vfio-pci"), group("1-1", mtu: 1500)]),
             observed: pf(numVfs: 2, vfs: [("vfio-pci", 0), ("iavf", 1500)]), steps: [], isFinal: true),
    ]

    @Test("plans", arguments: cases)
    func plans(_ c: Case) throws {
        let plan = try HostPlanner.plan(c.desired, observed: c.observed)
        #expect(plan.steps == c.steps)
        #expect(plan.isFinal == c.isFinal)
    }

    struct Rejection: CustomTestStringConvertible, Sendable {
        var name: String
        var desired: SriovV1.Interface
        var observed: SriovV1.InterfaceExt?
        var code: HostError.Code
        var message: String
        var testDescription: String { name }
    }

    static let rejections: [Rejection] = [
        Rejection(name: "more VFs than sriov_totalvfs", desired: iface("0000:86:00.0", numVfs: 300), observed: pf(),
                  code: .invalidSpec, message: "0000:86:00.0: numVfs 300 exceeds sriov_totalvfs 64 (policy \"policy-1\")"),
        Rejection(name: "a ConnectX whose firmware allows fewer VFs", desired: iface("0000:86:00.0", numVfs: 32), observed: pf(vendor: "15b3", totalvfs: 16),
                  code: .firmwareLimit,
                  message: "0000:86:00.0: numVfs 32 exceeds sriov_totalvfs 16 (policy \"policy-1\"): the ConnectX firmware is set to 16 VFs; an admin must run `mlxconfig -d 0000:86:00.0 set SRIOV_EN=1 NUM_OF_VFS=32` and reboot the node (the agent does not change firmware)"),
        Rejection(name: "switchdev is not applied", desired: iface("0000:86:00.0", numVfs: 2, eSwitchMode: "switchdev"), observed: pf(),
                  code: .unsupported, message: "0000:86:00.0: eSwitchMode switchdev (policy \"policy-1\") is not applied by this agent (legacy only)"),
        Rejection(name: "InfiniBand VFs need GUIDs", desired: iface("0000:86:00.0", numVfs: 2, linkType: "ib"), observed: pf(vendor: "15b3", linkType: "IB"),
                  code: .unsupported, message: "0000:86:00.0: linkType ib (policy \"policy-1\"): InfiniBand VFs need GUIDs, which this agent does not assign"),
        Rejection(name: "a VF range beyond numVfs", desired: iface("0000:86:00.0", numVfs: 4, [group("2-5")]), observed: pf(),
                  code: .invalidSpec, message: "0000:86:00.0: policy \"policy-1\": vfRange 2-5 reaches beyond numVfs 4 (VF indices are 0-3)"),
        Rejection(name: "overlapping VF ranges", desired: iface("0000:86:00.0", numVfs: 8, [group("0-3", policy: "a"), group("3-7", policy: "b")]), observed: pf(),
                  code: .invalidSpec, message: "0000:86:00.0: policy \"b\": vfRange 3-7 overlaps policy \"a\"'s 0-3"),
        Rejection(name: "a VF MTU above the PF's", desired: iface("0000:86:00.0", numVfs: 2, [group("0-1", mtu: 9000, policy: "jumbo")]), observed: pf(),
                  code: .invalidSpec, message: "0000:86:00.0: policy \"jumbo\": VF mtu 9000 is above the PF's MTU 1500; raise the PF's mtu as well"),
        Rejection(name: "a PF that is not on the node", desired: iface("0000:86:00.0", numVfs: 2), observed: nil,
                  code: .notFound, message: "0000:86:00.0: no such SR-IOV PF on this node"),
    ]

    @Test("rejects what cannot be applied, saying exactly why", arguments: rejections)
    func rejects(_ r: Rejection) {
        #expect(throws: HostError.self) { try HostPlanner.plan(r.desired, observed: r.observed) }
        do {
            _ = try HostPlanner.plan(r.desired, observed: r.observed)
        } catch {
            #expect(error.code == r.code)
            #expect(error.description == r.message)
        }
    }

    @Test("externally managed PFs are only checked")
    func externallyManaged() throws {
        let desired = iface("0000:86:00.0", numVfs: 4, mtu: 9000, externallyManaged: true)
        try HostPlanner.check(externallyManaged: desired, observed: Self.pf(numVfs: 8, mtu: 9000))
        #expect(throws: HostError.self) { try HostPlanner.check(externallyManaged: desired, observed: Self.pf(numVfs: 2, mtu: 9000)) }
        #expect(throws: HostError.self) { try HostPlanner.check(externallyManaged: desired, observed: Self.pf(numVfs: 8, mtu: 1500)) }
    }

    @Test("reset: no VFs, the original MTU")
    func reset() {
        let plan = HostPlanner.reset(Self.pf(numVfs: 2, mtu: 9000, vfs: [("iavf", 1500), ("iavf", 1500)]),
                                     to: .init(name: "ens1f0", numVfs: 0, mtu: 1500))
        #expect(plan.steps == [.write(path: Self.numvfs, value: "0"), .write(path: "sys/class/net/ens1f0/mtu", value: "1500")])
        #expect(HostPlanner.reset(Self.pf(), to: .init(name: "ens1f0", numVfs: 0, mtu: 1500)).isEmpty)
    }

    @Test("VF ranges parse", arguments: [("0-7", VFRange(first: 0, last: 7)), ("3", VFRange(first: 3, last: 3)), ("5-2", nil), ("a-b", nil), ("-1", nil), ("", nil)])
    func ranges(_ text: String, _ expected: VFRange?) {
        #expect(VFRange(parsing: text) == expected)
    }
}
