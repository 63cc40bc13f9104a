import SriovProto

/// Swift-built twins of Python/fixtures.json.
enum Fixtures {
    static var seedPolicy: SriovV1.SriovNetworkNodePolicy {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = "policy-1"
        p.metadata.namespace = "sriov-network-operator"
        p.spec.resourceName = "intel_nics_1"
        p.spec.nodeSelector = ["feature.node.kubernetes.io/sriov-capable": "true"]
        p.spec.priority = 90
        p.spec.mtu = 1500
        p.spec.numVfs = 4
        p.spec.nicSelector.vendor = "8086"
        p.spec.nicSelector.deviceID = "1583"
        p.spec.nicSelector.rootDevices = ["0000:86:00.0"]
        p.spec.deviceType = "vfio-pci"
        return p
    }

    static var seedNetwork: SriovV1.SriovNetwork {
        var n = SriovV1.SriovNetwork()
        n.metadata.name = "example-network"
        n.metadata.namespace = "example-namespace"
        n.spec.resourceName = "intel_nics_1"
        n.spec.vlan = 0
        n.spec.ipam = "{\n  \"type\": \"host-local\",\n  \"subnet\": \"10.56.217.0/24\"\n}\n"
        n.spec.minTxRate = 0
        n.spec.maxTxRate = 1000
        return n
    }

    static var nodeState: SriovV1.SriovNetworkNodeState {
        var s = SriovV1.SriovNetworkNodeState()
        s.metadata.name = "worker-node-1"
        s.metadata.generation = 3
        s.metadata.creationTimestamp.seconds = 1_558_432_800  // 2019-05-21T10:00:00Z
        var group = SriovV1.VfGroup()
        group.resourceName = "intel_nics_1"
        group.deviceType = "vfio-pci"
        group.vfRange = "0-3"
        group.policyName = "policy-1"
        var spec = SriovV1.Interface()
        spec.pciAddress = "0000:86:00.0"
        spec.numVfs = 4
        spec.mtu = 1500
        spec.vfGroups = [group]
        s.spec.interfaces = [spec]
        var pf = SriovV1.InterfaceExt()
        pf.name = "ens786f0"
        pf.deviceID = "1583"
        pf.driver = "i40e"
        pf.mtu = 1500
        pf.numVfs = 4
        pf.pciAddress = "0000:86:00.0"
        pf.totalvfs = 64
        pf.vendor = "8086"
        pf.linkType = "ETH"
        pf.vfs = (0..<2).map { index in
            var vf = SriovV1.VirtualFunction()
            vf.deviceID = "154c"
            vf.driver = "vfio-pci"
            vf.pciAddress = "0000:86:02.\(index)"
            vf.vendor = "8086"
            vf.vfID = Int32(index)
            return vf
        }
        s.status.interfaces = [pf]
        s.status.syncStatus = "Succeeded"
        return s
    }
}
