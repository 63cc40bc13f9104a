import Glibc
import SriovHost
import SriovSimKernel
import Testing

/// The simulated kernel answers writes as the kernel does.
@Suite("SimulatedKernel")
struct SimulatedKernelTests {
    static let numvfs = "sys/bus/pci/devices/0000:18:00.0/sriov_numvfs"

    func errno(_ body: () throws -> Void) -> Int32? {
        do {
            try body()
            return nil
        } catch let e as SysfsError {
            return e.errno
        } catch {
            return -1
        }
    }

    @Test("sriov_numvfs: EBUSY from one non-zero count to another, EINVAL above totalvfs, same value is a no-op")
    func numvfs() throws {
        let node = try SimNode("xl710:1")
        let k = node.kernel
        #expect(errno { try k.write(Self.numvfs, "65") } == EINVAL)
        #expect(errno { try k.write(Self.numvfs, "abc") } == EINVAL)
        try k.write(Self.numvfs, "4")
        #expect(errno { try k.write(Self.numvfs, "4") } == nil)
        #expect(errno { try k.write(Self.numvfs, "8") } == EBUSY)
        #expect(try k.list("sys/bus/pci/devices/0000:18:00.0").filter { $0.hasPrefix("virtfn") }.count == 4)
        try k.write(Self.numvfs, "0")
        #expect(try k.list("sys/bus/pci/devices/0000:18:00.0").filter { $0.hasPrefix("virtfn") }.isEmpty)
        #expect(!k.exists("sys/bus/pci/devices/0000:19:00.0"))
        #expect(!k.exists("sys/class/net/ens1f0v0"))
    }

    @Test("driver_override, unbind, drivers_probe and bind move a VF between drivers")
    func drivers() throws {
        let node = try SimNode("e810:1")
        let k = node.kernel
        try k.write(Self.numvfs, "1")
        let vf = "0000:19:00.0"
        #expect(try k.readLink("sys/bus/pci/devices/\(vf)/driver").hasSuffix("/iavf"))
        #expect(errno { try k.write("sys/bus/pci/drivers/vfio-pci/unbind", vf) } == ENODEV)
        #expect(errno { try k.write("sys/bus/pci/drivers/vfio-pci/bind", vf) } == EBUSY)
        try k.write("sys/bus/pci/devices/\(vf)/driver_override", "vfio-pci")
        try k.write("sys/bus/pci/drivers/iavf/unbind", vf)
        #expect(!k.exists("sys/class/net/ens1f0v0"))
        try k.write("sys/bus/pci/drivers_probe", vf)
        #expect(try k.readLink("sys/bus/pci/devices/\(vf)/driver").hasSuffix("/vfio-pci"))
        try k.write("sys/bus/pci/drivers/vfio-pci/unbind", vf)
        try k.write("sys/bus/pci/drivers/iavf/bind", vf)
        #expect(try k.read("sys/class/net/ens1f0v0/mtu") == "1500")
    }

    @Test("MTU: within the driver's range, a VF never above its PF; read-only attributes refuse writes")
    func mtu() throws {
        let node = try SimNode("xl710:1")
        let k = node.kernel
        try k.write(Self.numvfs, "1")
        #expect(errno { try k.write("sys/class/net/ens1f0v0/mtu", "9000") } == EINVAL)
        try k.write("sys/class/net/ens1f0/mtu", "9000")
        try k.write("sys/class/net/ens1f0v0/mtu", "9000")
        #expect(errno { try k.write("sys/class/net/ens1f0/mtu", "20000") } == EINVAL)
        #expect(errno { try k.write("sys/bus/pci/devices/0000:18:00.0/sriov_totalvfs", "128") } == EACCES)
        #expect(errno { try k.write("sys/class/net/nosuch/mtu", "1500") } == ENOENT)
    }

    @Test("faults are shared through the tree: another instance sees them, counted faults run out")
    func faultsAcrossInstances() throws {
        let node = try SimNode("xl710:1")
        let other = try SimulatedKernel(root: node.root + "/sysfs")
        try other.inject(.failWrite(pathSuffix: "sriov_numvfs", errno: ENOMEM, times: 2))
        #expect(errno { try node.kernel.write(Self.numvfs, "1") } == ENOMEM)
        #expect(errno { try node.kernel.write(Self.numvfs, "1") } == ENOMEM)
        #expect(errno { try node.kernel.write(Self.numvfs, "1") } == nil)
        #expect(other.faults().isEmpty)
    }

    @Test("--nics parsing names what is wrong", arguments: [
        ("xl710:0", "--nics item \"xl710:0\": the count must be a whole number from 1"),
        ("bogus", "--nics item \"bogus\" is not MODEL[:COUNT] with MODEL one of xl710, e810, cx5, cx6"),
        ("xl710:8", "--nics asks for 8 cards; a simulated node holds at most 7"),
    ])
    func inventoryErrors(_ text: String, _ message: String) {
        do {
            _ = try NICInventory(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.message == message)
        }
    }
}
