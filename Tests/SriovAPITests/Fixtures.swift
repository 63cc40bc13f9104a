import SriovAPI
import SriovProto

/// Typed objects with every field set, for round-trip tests.
enum RichObjects {
    static func timestamp(_ seconds: Int64, _ nanos: Int32 = 0) -> GoogleProtobuf.Timestamp {
        var t = GoogleProtobuf.Timestamp()
        t.seconds = seconds
        t.nanos = nanos
        return t
    }

    static func metadata(_ name: String) -> SriovV1.ObjectMeta {
        var m = SriovV1.ObjectMeta()
        m.name = name
        m.namespace = "sriov-network-operator"
        m.labels = ["app": "sriov", "tier": "1583"]
        m.annotations = ["note": "multi\nline", "sriovnetwork.openshift.io/owner-ref": "true"]
        m.resourceVersion = "12345"
        m.generation = 7
        m.creationTimestamp = timestamp(1_558_433_040, 500_000_000)
        m.uid = "3f1a2b4c-0000-4000-8000-000000000001"
        return m
    }

    static var policy: SriovV1.SriovNetworkNodePolicy {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata = metadata("policy-rich")
        p.spec.resourceName = "intel_nics_rich"
        p.spec.nodeSelector = ["feature.node.kubernetes.io/sriov-capable": "true", "zone": "a"]
        p.spec.priority = 0
        p.spec.mtu = 9000
        p.spec.numVfs = 8
        p.spec.nicSelector.vendor = "8086"
        p.spec.nicSelector.deviceID = "1583"
        p.spec.nicSelector.rootDevices = ["0000:86:00.0", "0000:86:00.1"]
        p.spec.nicSelector.pfNames = ["ens1f0#0-3", "ens1f1"]
        p.spec.nicSelector.netFilter = "openstack/NetworkID:12345678-abcd-ef01-2345-6789abcdef01"
        p.spec.deviceType = "netdevice"
        p.spec.isRdma = true
        p.spec.needVhostNet = true
        p.spec.linkType = "eth"
        p.spec.eSwitchMode = "switchdev"
        p.spec.vdpaType = "virtio"
        p.spec.excludeTopology = true
        p.spec.externallyManaged = true
        return p
    }

    static var network: SriovV1.SriovNetwork {
        var n = SriovV1.SriovNetwork()
        n.metadata = metadata("network-rich")
        n.spec.networkNamespace = "tenant-a"
        n.spec.resourceName = "intel_nics_rich"
        n.spec.capabilities = #"{"mac": true, "ips": true}"#
        n.spec.ipam = "{\n  \"type\": \"host-local\",\n  \"subnet\": \"10.56.217.0/24\"\n}\n"
        n.spec.vlan = 100
        n.spec.vlanQos = 5
        n.spec.vlanProto = "802.1ad"
        n.spec.spoofChk = "on"
        n.spec.trust = "off"
        n.spec.linkState = "enable"
        n.spec.minTxRate = 0
        n.spec.maxTxRate = 1000
        n.spec.metaPlugins = #"{"type": "tuning", "sysctl": {"net.ipv4.conf.IFNAME.accept_redirects": "1"}}"#
        n.spec.logLevel = "debug"
        n.spec.logFile = "/var/log/sriov.log"
        var c = SriovV1.Condition()
        c.type = "Ready"
        c.status = "True"
        c.reason = "NetworkReady"
        c.message = "NetworkAttachmentDefinition rendered"
        c.lastTransitionTime = timestamp(1_700_000_000)
        c.observedGeneration = 7
        n.status.conditions = [c]
        return n
    }

    static var nodeState: SriovV1.SriovNetworkNodeState {
        var s = SriovV1.SriovNetworkNodeState()
        s.metadata = metadata("worker-1")
        var group = SriovV1.VfGroup()
        group.resourceName = "intel_nics_rich"
        group.deviceType = "vfio-pci"
        group.vfRange = "0-3"
        group.policyName = "policy-rich"
        group.mtu = 9000
        group.isRdma = true
        group.vdpaType = "vhost"
        var iface = SriovV1.Interface()
        iface.pciAddress = "0000:86:00.0"
        iface.numVfs = 4
        iface.mtu = 9000
        iface.name = "ens1f0"
        iface.linkType = "eth"
        iface.eSwitchMode = "legacy"
        iface.externallyManaged = true
        iface.vfGroups = [group]
        s.spec.interfaces = [iface]
        s.spec.system.rdmaMode = "exclusive"
        var vf = SriovV1.VirtualFunction()
        vf.name = "ens1f0v0"
        vf.mac = "aa:bb:cc:dd:ee:00"
        vf.assigned = "sriov-pod"
        vf.driver = "iavf"
        vf.pciAddress = "0000:86:02.0"
        vf.vendor = "8086"
        vf.deviceID = "154c"
        vf.vlan = 100
        vf.mtu = 1500
        vf.vfID = 0
        vf.vdpaType = "virtio"
        vf.representorName = "eth0_0"
        vf.guid = "00:11:22:33:44:55:66:77"
        var ext = SriovV1.InterfaceExt()
        ext.name = "ens1f0"
        ext.mac = "aa:bb:cc:dd:ee:ff"
        ext.driver = "i40e"
        ext.pciAddress = "0000:86:00.0"
        ext.vendor = "8086"
        ext.deviceID = "1583"
        ext.netFilter = "aws/NetworkID:subnet-1234"
        ext.mtu = 9000
        ext.numVfs = 4
        ext.linkSpeed = "25000 Mb/s"
        ext.linkType = "ETH"
        ext.linkAdminState = "up"
        ext.eSwitchMode = "legacy"
        ext.externallyManaged = true
        ext.totalvfs = 64
        ext.altNames = ["enp134s0f0"]
        ext.vfs = [vf]
        s.status.interfaces = [ext]
        s.status.system.rdmaMode = "shared"
        s.status.syncStatus = "Succeeded"
        s.status.lastSyncError = "none: \"quoted\""
        s.status.observedGeneration = 7
        return s
    }
}
