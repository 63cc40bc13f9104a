import SriovProto
import Testing
@testable import SriovRender

/// The device plugin `resourceList` JSON, byte for byte as the operator writes it.
struct DevicePluginConfigTests {
    typealias F = Fixtures

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var policies: [SriovV1.SriovNetworkNodePolicy]
        var json: String
        var nics: SupportedNICTable = .defaults
        var interfaces: [SriovV1.InterfaceExt] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "seed policy: vendor, VF device id, rootDevices",
             policies: [F.policy("policy-1", resource: "intel_nics_1", numVfs: 4, vendor: "8086", deviceID: "1583",
                                 rootDevices: ["0000:86:00.0"])],
             json: #"{"resourceList":[{"resourceName":"intel_nics_1","selectors":{"vendors":["8086"],"devices":["154c"],"rootDevices":["0000:86:00.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#),
        Case(name: "no policy gives a null list", policies: [], json: #"{"resourceList":null}"#),
        Case(name: "partitioned PF: two entries, range kept, excludeTopology",
             policies: [F.policy("xxx", resource: "resourceXXX", numVfs: 7, pfNames: ["ens1#0-3"], excludeTopology: true),
                        F.policy("yyy", resource: "resourceYYY", numVfs: 7, pfNames: ["ens1#4-6"])],
             json: #"{"resourceList":[{"resourceName":"resourceXXX","excludeTopology":true,"selectors":{"pfNames":["ens1#0-3"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null},{"resourceName":"resourceYYY","selectors":{"pfNames":["ens1#4-6"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#),
        Case(name: "shared resourceName merges lists; IsRdma is the first policy's, excludeTopology the last's",
             policies: [F.policy("a", resource: "shared", numVfs: 2, vendor: "8086", pfNames: ["ens1"], isRdma: true),
                        F.policy("b", resource: "shared", numVfs: 2, vendor: "15b3", deviceID: "1017", pfNames: ["ens1", "ens2"],
                                 isRdma: false, excludeTopology: true)],
             json: #"{"resourceList":[{"resourceName":"shared","excludeTopology":true,"selectors":{"vendors":["8086","15b3"],"devices":["1018"],"pfNames":["ens1","ens2"],"IsRdma":true,"NeedVhostNet":false},"SelectorObj":null}]}"#),
        Case(name: "linkType ib becomes infiniband, eth becomes ether",
             policies: [F.policy("ib", priority: 50, numVfs: 2, pfNames: ["ib0"], isRdma: true, linkType: "IB"),
                        F.policy("eth", priority: 40, numVfs: 2, pfNames: ["ens1"], linkType: "eth")],
             json: #"{"resourceList":[{"resourceName":"ibres","selectors":{"pfNames":["ib0"],"linkTypes":["infiniband"],"IsRdma":true,"NeedVhostNet":false},"SelectorObj":null},{"resourceName":"ethres","selectors":{"pfNames":["ens1"],"linkTypes":["ether"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#),
        Case(name: "vfio-pci: drivers, no linkTypes",
             policies: [F.policy("dpdk", numVfs: 2, vendor: "8086", deviceID: "159b", deviceType: "vfio-pci", linkType: "eth")],
             json: #"{"resourceList":[{"resourceName":"dpdkres","selectors":{"vendors":["8086"],"devices":["1889"],"drivers":["vfio-pci"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#),
        Case(name: "numVfs 0 keeps the PF device id; needVhostNet and vdpaType",
             policies: [F.policy("v", numVfs: 0, vendor: "15b3", deviceID: "101d", needVhostNet: true, vdpaType: "virtio")],
             json: #"{"resourceList":[{"resourceName":"vres","selectors":{"vendors":["15b3"],"devices":["101d"],"IsRdma":false,"NeedVhostNet":true,"vdpaType":"virtio"},"SelectorObj":null}]}"#),
        Case(name: "unknown device id gives no devices",
             policies: [F.policy("u", numVfs: 2, vendor: "8086", deviceID: "ffff")],
             json: #"{"resourceList":[{"resourceName":"ures","selectors":{"vendors":["8086"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#),
        Case(name: "a replaced NIC table is used",
             policies: [F.policy("c", numVfs: 2, vendor: "8086", deviceID: "1583")],
             json: #"{"resourceList":[{"resourceName":"cres","selectors":{"vendors":["8086"],"devices":["abcd"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#,
             nics: SupportedNICTable(entries: [.init(model: "custom", vendor: "8086", pfDeviceID: "1583", vfDeviceID: "abcd")])),
        Case(name: "netFilter lists the matching PFs' addresses",
             policies: [F.policy("nf", numVfs: 1, netFilter: "openstack/NetworkID:aaaa")],
             json: #"{"resourceList":[{"resourceName":"nfres","selectors":{"pciAddresses":["0000:00:05.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#,
             interfaces: [F.pf("ens5", "0000:00:05.0", netFilter: "openstack/NetworkID:aaaa"),
                          F.pf("ens6", "0000:00:06.0", netFilter: "openstack/NetworkID:bbbb")]),
    ]

    @Test(arguments: cases)
    func jsonText(_ c: Case) {
        let config = DevicePluginConfig.render(
            sortedPolicies: NodeSpecRenderer.sortedForApplication(c.policies), labels: [:],
            interfaces: c.interfaces, nics: c.nics)
        #expect(config.jsonText == c.json)
    }

    @Test func defaultTableMapsCommonNICs() {
        let table = SupportedNICTable.defaults
        let expected: [(String, String)] = [
            ("1583", "154c"), ("1572", "154c"), ("158b", "154c"), ("10fb", "10ed"), ("1528", "1515"),
            ("1592", "1889"), ("1593", "1889"), ("159b", "1889"), ("1013", "1014"), ("1015", "1016"),
            ("1017", "1018"), ("1019", "101a"), ("101b", "101c"), ("101d", "101e"), ("101f", "101e"),
            ("1021", "101e"), ("a2d6", "101e"),
        ]
        for (pf, vf) in expected {
            #expect(table.vfDeviceID(forPFDeviceID: pf) == vf, "PF \(pf)")
        }
        #expect(table.isSupported(vendor: "15b3", pfDeviceID: "1017"))
        #expect(!table.isSupported(vendor: "8086", pfDeviceID: "1017"))
    }
}
