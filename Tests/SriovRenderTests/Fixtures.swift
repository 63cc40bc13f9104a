import SriovProto
@testable import SriovRender

/// Builders for the renderer's inputs.
enum Fixtures {
    static func pf(
        _ name: String, _ pci: String, vendor: String = "8086", device: String = "158b",
        totalvfs: Int32 = 64, altNames: [String] = [], netFilter: String = ""
    ) -> SriovV1.InterfaceExt {
        var i = SriovV1.InterfaceExt()
        i.name = name
        i.pciAddress = pci
        i.vendor = vendor
        i.deviceID = device
        i.driver = "i40e"
        i.mtu = 1500
        i.numVfs = 4
        i.totalvfs = totalvfs
        i.altNames = altNames
        i.netFilter = netFilter
        return i
    }

    /// The three PFs of upstream's `newNodeState()`.
    static let upstreamPFs: [SriovV1.InterfaceExt] = [
        pf("ens803f0", "0000:86:00.0"),
        pf("ens803f1", "0000:86:00.1"),
        pf("ens803f2", "0000:86:00.2", device: "1015"),
    ]

    static func policy(
        _ name: String, resource: String? = nil, priority: Int32? = 99, numVfs: Int32 = 2,
        nodeSelector: [String: String] = [:], vendor: String = "", deviceID: String = "",
        rootDevices: [String] = [], pfNames: [String] = [], netFilter: String = "",
        deviceType: String = "netdevice", mtu: Int32 = 0, isRdma: Bool = false, needVhostNet: Bool = false,
        linkType: String = "", eSwitchMode: String = "", vdpaType: String = "",
        excludeTopology: Bool = false, externallyManaged: Bool = false
    ) -> SriovV1.SriovNetworkNodePolicy {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = name
        p.metadata.namespace = "sriov-network-operator"
        p.spec.resourceName = resource ?? "\(name)res"
        p.spec.priority = priority
        p.spec.numVfs = numVfs
        p.spec.nodeSelector = nodeSelector
        p.spec.nicSelector.vendor = vendor
        p.spec.nicSelector.deviceID = deviceID
        p.spec.nicSelector.rootDevices = rootDevices
        p.spec.nicSelector.pfNames = pfNames
        p.spec.nicSelector.netFilter = netFilter
        p.spec.deviceType = deviceType
        p.spec.mtu = mtu
        p.spec.isRdma = isRdma
        p.spec.needVhostNet = needVhostNet
        p.spec.linkType = linkType
        p.spec.eSwitchMode = eSwitchMode
        p.spec.vdpaType = vdpaType
        p.spec.excludeTopology = excludeTopology
        p.spec.externallyManaged = externallyManaged
        return p
    }

    /// Upstream's `newNodePolicy()`.
    static var upstreamPolicy: SriovV1.SriovNetworkNodePolicy {
        policy("p1", resource: "p1res", numVfs: 2,
               nodeSelector: ["feature.node.kubernetes.io/network-sriov.capable": "true"],
               vendor: "8086", rootDevices: ["0000:86:00.1"], pfNames: ["ens803f1"])
    }

    static func group(
        _ resource: String, _ range: String, policy: String, deviceType: String = "netdevice",
        mtu: Int32 = 0, vdpaType: String = ""
    ) -> SriovV1.VfGroup {
        var g = SriovV1.VfGroup()
        g.resourceName = resource
        g.vfRange = range
        g.policyName = policy
        g.deviceType = deviceType
        g.mtu = mtu
        g.vdpaType = vdpaType
        return g
    }

    static func iface(
        _ name: String, _ pci: String, numVfs: Int32, mtu: Int32 = 0, groups: [SriovV1.VfGroup],
        linkType: String = "", eSwitchMode: String = "", externallyManaged: Bool = false
    ) -> SriovV1.Interface {
        var i = SriovV1.Interface()
        i.name = name
        i.pciAddress = pci
        i.numVfs = numVfs
        i.mtu = mtu
        i.vfGroups = groups
        i.linkType = linkType
        i.eSwitchMode = eSwitchMode
        i.externallyManaged = externallyManaged
        return i
    }

    static func spec(_ interfaces: [SriovV1.Interface]) -> SriovV1.SriovNetworkNodeStateSpec {
        var s = SriovV1.SriovNetworkNodeStateSpec()
        s.interfaces = interfaces
        return s
    }

    static func network(
        _ name: String, namespace: String = "ns", resource: String = "testresource",
        configure: (inout SriovV1.SriovNetworkSpec) -> Void = { _ in }
    ) -> SriovV1.SriovNetwork {
        var n = SriovV1.SriovNetwork()
        n.metadata.name = name
        n.metadata.namespace = namespace
        n.spec.resourceName = resource
        configure(&n.spec)
        return n
    }
}
