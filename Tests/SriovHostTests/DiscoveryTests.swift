import Glibc
@testable import SriovHost
import SriovProto
import SriovSimKernel
import Testing

@Suite("Discovery")
struct DiscoveryTests {
    struct ModelCase: CustomTestStringConvertible, Sendable {
        var model: NICModel
        var speed: String
        var testDescription: String { model.key }
    }

    @Test("each NIC model is discovered with its ids, driver, limits and netdev", arguments: [
        ModelCase(model: .xl710, speed: "40000 Mb/s"), ModelCase(model: .e810, speed: "25000 Mb/s"),
        ModelCase(model: .connectX5, speed: "100000 Mb/s"), ModelCase(model: .connectX6, speed: "200000 Mb/s"),
    ])
    func models(_ c: ModelCase) throws {
        let node = try SimNode("\(c.model.key):1")
        let pfs = node.applier.discovery.interfaces()
        #expect(pfs.map(\.pciAddress) == ["0000:18:00.0", "0000:18:00.1"])
        let pf = try #require(pfs.first)
        #expect(pf.vendor == c.model.vendor)
        #expect(pf.deviceID == c.model.pfDevice)
        #expect(pf.driver == c.model.pfDriver)
        #expect(pf.totalvfs == Int32(c.model.totalVfs))
        #expect(pf.numVfs == 0 && pf.vfs.isEmpty)
        #expect(pf.name == "ens1f0")
        #expect(pf.altNames == ["enp24s0f0"])
        #expect(pf.mtu == 1500)
        #expect(pf.linkSpeed == c.speed)
        #expect(pf.linkType == "ETH")
        #expect(pf.linkAdminState == "down")
        #expect(pf.mac.hasPrefix(c.model.oui))

        try node.kernel.write("sys/bus/pci/devices/0000:18:00.0/sriov_numvfs", "3")
        let after = try #require(node.pf("0000:18:00.0"))
        #expect(after.numVfs == 3)
        #expect(after.vfs.map(\.vfID) == [0, 1, 2])
        #expect(after.vfs.map(\.pciAddress) == ["0000:19:00.0", "0000:19:00.1", "0000:19:00.2"])
        #expect(after.vfs.allSatisfy { $0.deviceID == c.model.vfDevice && $0.vendor == c.model.vendor && $0.driver == c.model.vfDriver })
        #expect(after.vfs.map(\.name) == ["ens1f0v0", "ens1f0v1", "ens1f0v2"])
        #expect(after.vfs.allSatisfy { $0.mtu == 1500 && $0.mac.hasPrefix("02:") })
    }

    @Test("a network device without SR-IOV and an SR-IOV NVMe drive are not PFs")
    func onlyNetworkPFs() throws {
        let node = try SimNode("e810:1")
        #expect(node.kernel.exists("sys/bus/pci/devices/0000:00:17.0/sriov_totalvfs"))
        #expect(!node.applier.discovery.interfaces().contains { $0.pciAddress == "0000:00:17.0" })
    }

    @Test("half-present devices and dangling VF links are skipped, never a crash")
    func halfPresent() throws {
        let node = try SimNode("xl710:1")
        let abs = node.root + "/sysfs/sys/bus/pci/devices"
        // A device directory with sriov_totalvfs but nothing else.
        mkdir(abs + "/0000:99:00.0", 0o755)
        let fd = open(abs + "/0000:99:00.0/sriov_totalvfs", O_WRONLY | O_CREAT, 0o644)
        close(fd)
        // A PF whose virtfn link points nowhere.
        try node.kernel.write("sys/bus/pci/devices/0000:18:00.1/sriov_numvfs", "2")
        symlink("../0000:77:00.0", abs + "/0000:18:00.1/virtfn2")
        // A PF whose sriov_numvfs is unreadable garbage.
        let g = open(abs + "/0000:18:00.0/sriov_numvfs", O_WRONLY | O_TRUNC)
        _ = "garbage".withCString { write(g, $0, 7) }
        close(g)

        let pfs = node.applier.discovery.interfaces()
        #expect(pfs.map(\.pciAddress) == ["0000:18:00.1"])
        #expect(pfs.first?.vfs.map(\.vfID) == [0, 1])
    }

    @Test("an InfiniBand port reports link type IB; admin state follows IFF_UP")
    func linkTypeAndState() throws {
        let node = try SimNode("cx6:1")
        let net = node.root + "/sysfs/sys/bus/pci/devices/0000:18:00.1/net/ens1f1/type"
        let fd = open(net, O_WRONLY | O_TRUNC)
        _ = "32\n".withCString { write(fd, $0, 3) }
        close(fd)
        try node.kernel.write("sys/class/net/ens1f0/flags", "0x1003")
        #expect(node.pf("0000:18:00.1")?.linkType == "IB")
        #expect(node.pf("0000:18:00.0")?.linkAdminState == "up")
    }

    @Test("ip -o link altname output is parsed")
    func altNames() {
        let text = "4: ens1f0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc mq state UP mode DEFAULT group default qlen 1000\\    link/ether 3c:fd:fe:00:00:01 brd ff:ff:ff:ff:ff:ff\\    altname enp24s0f0\\    altname ens1f0np0\n"
        #expect(FileSysfs.parseAltNames(text) == ["enp24s0f0", "ens1f0np0"])
    }
}
