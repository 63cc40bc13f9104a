import Glibc
import SriovHost
import SriovProto
import SriovSimKernel
import Testing

/// Apply on the simulated kernel: what ends up in sysfs, and how many writes it took.
@Suite("HostApplier")
struct HostApplierTests {
    static let pf0 = "0000:18:00.0"
    static let pf1 = "0000:18:00.1"

    @Test("each model, both driver kinds, VF ranges split across policies; the second apply writes nothing",
          arguments: NICModel.all)
    func applyEachModel(_ model: NICModel) async throws {
        let node = try SimNode("\(model.key):1")
        let n = Int32(min(model.totalVfs, 8))
        let desired = spec(iface(Self.pf0, numVfs: n, mtu: 9000, [
            group("0-1", "vfio-pci", policy: "dpdk"),
            group("2-\(n - 2)", "netdevice", mtu: 9000, policy: "kernel"),
        ]))
        let result = await node.applier.apply(desired, generation: 1)
        #expect(result.succeeded, "\(result.errorMessage)")
        let pf = try #require(node.pf(Self.pf0))
        #expect(pf.numVfs == n && pf.vfs.count == Int(n))
        #expect(pf.mtu == 9000)
        #expect(pf.linkAdminState == "up")
        #expect(pf.vfs[0].driver == "vfio-pci" && pf.vfs[0].name.isEmpty)
        #expect(pf.vfs[1].driver == "vfio-pci")
        for vf in pf.vfs[2...Int(n - 2)] {
            #expect(vf.driver == model.vfDriver)
            #expect(vf.mtu == 9000)
        }
        // The last VF is in no group: default driver, default MTU.
        #expect(pf.vfs[Int(n - 1)].driver == model.vfDriver && pf.vfs[Int(n - 1)].mtu == 1500)
        // The other port was never touched.
        #expect(node.pf(Self.pf1)?.numVfs == 0)
        #expect(!node.kernel.writeLog.contains { $0.contains(Self.pf1) || $0.contains("ens1f1/") })
        #expect(result.interfaces.first { $0.pciAddress == Self.pf0 } == pf)

        node.kernel.resetWriteLog()
        let again = await node.applier.apply(desired, generation: 1)
        #expect(again.succeeded)
        #expect(again.writes == 0)
        #expect(node.kernel.writeCount == 0, "\(node.kernel.writeLog)")
    }

    @Test("the write log of a first apply is the plan: MTU first, 0 then N, bind, VF MTU, link up")
    func writeOrder() async throws {
        let node = try SimNode("xl710:1")
        let result = await node.applier.apply(spec(iface(Self.pf0, numVfs: 2, mtu: 9000, [group("0-0", "vfio-pci"), group("1-1", mtu: 9000, policy: "p2")])), generation: 1)
        #expect(result.succeeded, "\(result.errorMessage)")
        #expect(node.kernel.writeLog == [
            "sys/class/net/ens1f0/mtu=9000",
            "sys/bus/pci/devices/0000:18:00.0/sriov_numvfs=2",
            "sys/bus/pci/devices/0000:19:00.0/driver_override=vfio-pci",
            "sys/bus/pci/drivers/iavf/unbind=0000:19:00.0",
            "sys/bus/pci/drivers_probe=0000:19:00.0",
            "sys/class/net/ens1f0v1/mtu=9000",
            "sys/class/net/ens1f0/flags=0x1003",
        ])
        #expect(result.writes == 7)
    }

    @Test("changing the VF count writes 0 first, then rebinds the new VFs")
    func changeCount() async throws {
        let node = try SimNode("e810:1")
        _ = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4, [group("0-3", "vfio-pci")])), generation: 1)
        let result = await node.applier.apply(spec(iface(Self.pf0, numVfs: 6, [group("0-5", "vfio-pci")])), generation: 2)
        #expect(result.succeeded, "\(result.errorMessage)")
        #expect(node.pf(Self.pf0)?.vfs.map(\.driver) == Array(repeating: "vfio-pci", count: 6))
        #expect(node.kernel.writeLog.filter { $0.hasSuffix("sriov_numvfs=0") }.count == 1)
    }

    @Test("externally managed PFs are checked and never written")
    func externallyManaged() async throws {
        let node = try SimNode("xl710:1")
        try node.kernel.write("sys/bus/pci/devices/\(Self.pf0)/sriov_numvfs", "8")
        node.kernel.resetWriteLog()
        let ok = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4, externallyManaged: true)), generation: 1)
        #expect(ok.succeeded)
        let tooFew = await node.applier.apply(spec(iface(Self.pf0, numVfs: 16, externallyManaged: true)), generation: 2)
        #expect(tooFew.errorMessage == "0000:18:00.0: externally managed PF has 8 VFs, the spec asks for 16 (policy \"policy-1\"); create them outside the operator")
        #expect(node.kernel.writeCount == 0)
        // Leaving the spec does not reset it either: the agent never configured it.
        let gone = await node.applier.apply(spec(), generation: 3)
        #expect(gone.succeeded && node.kernel.writeCount == 0)
        #expect(node.pf(Self.pf0)?.numVfs == 8)
    }

    @Test("a PF that leaves the spec is reset to its original state; PFs never configured are untouched")
    func resetRemoved() async throws {
        let node = try SimNode("xl710:1")
        // Someone set the other port's MTU before the agent: it must stay.
        try node.kernel.write("sys/class/net/ens1f1/mtu", "2000")
        let r1 = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4, mtu: 9000)), generation: 1)
        #expect(r1.succeeded)
        #expect(try node.applier.store.load().originals[Self.pf0] == .init(name: "ens1f0", numVfs: 0, mtu: 1500))
        node.kernel.resetWriteLog()
        let r2 = await node.applier.apply(spec(), generation: 2)
        #expect(r2.succeeded, "\(r2.errorMessage)")
        let pf = try #require(node.pf(Self.pf0))
        #expect(pf.numVfs == 0 && pf.vfs.isEmpty && pf.mtu == 1500)
        #expect(node.kernel.writeLog == ["sys/bus/pci/devices/0000:18:00.0/sriov_numvfs=0", "sys/class/net/ens1f0/mtu=1500"])
        #expect(node.pf(Self.pf1)?.mtu == 2000)
        #expect(try node.applier.store.load().originals.isEmpty)
    }

    @Test("EBUSY on one PF: that PF is made safe, the other is applied, the error says what failed")
    func failureOfOnePF() async throws {
        let node = try SimNode("xl710:1")
        try node.kernel.inject(.failWrite(pathSuffix: "\(Self.pf0)/sriov_numvfs", errno: EBUSY, times: 1))
        let result = await node.applier.apply(spec(iface(Self.pf0, numVfs: 8), iface(Self.pf1, numVfs: 2)), generation: 1)
        #expect(result.failures.count == 1)
        #expect(result.errorMessage.hasPrefix("0000:18:00.0: writing 8 to sriov_numvfs: Device or resource busy"), "\(result.errorMessage)")
        #expect(result.failures.first?.cause?.errno == EBUSY)
        #expect(node.pf(Self.pf0)?.numVfs == 0)
        #expect(node.pf(Self.pf1)?.numVfs == 2)
        // The fault is gone: the next apply succeeds.
        let retry = await node.applier.apply(spec(iface(Self.pf0, numVfs: 8), iface(Self.pf1, numVfs: 2)), generation: 1)
        #expect(retry.succeeded, "\(retry.errorMessage)")
        #expect(node.pf(Self.pf0)?.numVfs == 8)
    }

    @Test("a failure after VFs were made puts the PF back to no VFs and its MTU")
    func failureMidway() async throws {
        let node = try SimNode("xl710:1")
        try node.kernel.inject(.failWrite(pathSuffix: "0000:19:00.1/driver_override", errno: EIO, times: nil))
        let result = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4, mtu: 9000, [group("0-3", "vfio-pci")])), generation: 1)
        #expect(result.errorMessage == "0000:18:00.0: VF 0000:19:00.1: writing vfio-pci to driver_override: Input/output error; the PF was reset to 0 VFs and MTU 1500")
        let pf = try #require(node.pf(Self.pf0))
        #expect(pf.numVfs == 0 && pf.mtu == 1500)
    }

    @Test("VFs that appear late are awaited; VFs later than the bound fail the PF")
    func lateVFs() async throws {
        let node = try SimNode("xl710:1", vfTimeout: .seconds(2))
        try node.kernel.inject(.lateVirtualFunctions(pciAddress: Self.pf0, delayMilliseconds: 200))
        let ok = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4)), generation: 1)
        #expect(ok.succeeded, "\(ok.errorMessage)")
        #expect(node.pf(Self.pf0)?.vfs.count == 4)

        let slow = try SimNode("xl710:1", vfTimeout: .milliseconds(100))
        try slow.kernel.inject(.lateVirtualFunctions(pciAddress: Self.pf0, delayMilliseconds: 60_000))
        let failed = await slow.applier.apply(spec(iface(Self.pf0, numVfs: 4)), generation: 1)
        #expect(failed.errorMessage.hasPrefix("0000:18:00.0: 0 of 4 VFs appeared within 0.1 seconds after writing sriov_numvfs"), "\(failed.errorMessage)")
        #expect(slow.pf(Self.pf0)?.numVfs == 0)
    }

    @Test("a device that vanishes mid-apply fails that PF only")
    func vanishing() async throws {
        let node = try SimNode("xl710:1")
        try node.kernel.inject(.vanishOnWrite(pathSuffix: "\(Self.pf0)/sriov_numvfs", pciAddress: Self.pf0))
        let result = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4), iface(Self.pf1, numVfs: 4)), generation: 1)
        #expect(result.errorMessage == "0000:18:00.0: writing 4 to sriov_numvfs: No such device")
        #expect(result.interfaces.map(\.pciAddress) == [Self.pf1])
        #expect(node.pf(Self.pf1)?.numVfs == 4)
        // Gone for good: the next apply says so, and removing it from the spec waits for it.
        let next = await node.applier.apply(spec(iface(Self.pf0, numVfs: 4), iface(Self.pf1, numVfs: 4)), generation: 2)
        #expect(next.errorMessage == "0000:18:00.0: no such SR-IOV PF on this node")
    }

    @Test("after a reboot the checkpointed spec is re-applied by a new applier; drift is seen")
    func rebootReapply() async throws {
        let node = try SimNode("cx5:1")
        let desired = spec(iface(Self.pf0, numVfs: 8, mtu: 9000, [group("0-3", "vfio-pci"), group("4-7", mtu: 9000, policy: "p2")]))
        #expect(await node.applier.apply(desired, generation: 7).succeeded)
        let before = node.pf(Self.pf0)
        node.kernel.reboot()
        #expect(node.pf(Self.pf0)?.numVfs == 0)

        let after = node.restartedApplier()
        let checkpoint = try after.store.load()
        #expect(checkpoint.generation == 7)
        #expect(checkpoint.spec == desired)
        #expect(after.needsApply(checkpoint.spec))
        let result = await after.apply(checkpoint.spec, generation: checkpoint.generation)
        #expect(result.succeeded, "\(result.errorMessage)")
        #expect(node.pf(Self.pf0) == before)
        #expect(!after.needsApply(checkpoint.spec))
        // Drift: someone rebinds a VF behind the agent's back.
        try node.kernel.write("sys/bus/pci/drivers/vfio-pci/unbind", "0000:19:00.0")
        #expect(after.needsApply(checkpoint.spec))
    }

    @Test("a Mellanox PF asked for more VFs than its firmware allows is reported with the mlxconfig command")
    func firmwareLimit() async throws {
        let node = try SimNode("cx6:1")
        let result = await node.applier.apply(spec(iface(Self.pf0, numVfs: 32)), generation: 1)
        #expect(result.failures.first?.code == .firmwareLimit)
        #expect(result.errorMessage.contains("mlxconfig -d 0000:18:00.0 set SRIOV_EN=1 NUM_OF_VFS=32"))
        #expect(node.kernel.writeCount == 0)
    }

    @Test("the checkpoint is replaced atomically and survives a reload")
    func checkpointRoundTrip() throws {
        let node = try SimNode("xl710:1")
        var c = HostCheckpoint()
        c.generation = 3
        c.originals["0000:18:00.0"] = .init(name: "ens1f0", numVfs: 0, mtu: 1500)
        c.interfaces = [CheckpointInterface(iface(Self.pf0, numVfs: 2, [group("0-1", "vfio-pci")]))]
        try node.applier.store.save(c)
        #expect(try node.applier.store.load() == c)
        #expect(access(node.applier.store.path + ".tmp", F_OK) != 0)
        let fd = open(node.applier.store.path, O_WRONLY | O_TRUNC)
        _ = "{not json".withCString { write(fd, $0, 9) }
        close(fd)
        #expect(throws: HostError.self) { try node.applier.store.load() }
    }
}
