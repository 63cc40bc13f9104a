import SriovAPI
import SriovProto
import Testing

/// Defaults live in one place and are applied by callers, never by decoding.
struct DefaultsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let priority: Int32?
        let deviceType: String
        let linkType: String
        let isRdma: Bool
        let expectedPriority: Int32
        let expectedDeviceType: String
        let expectedRdma: Bool
        var testDescription: String { name }
    }

    @Test(
        "policy defaults: priority 99, deviceType netdevice, isRdma for InfiniBand netdevice",
        arguments: [
            Case(
                name: "absent priority becomes 99", priority: nil, deviceType: "", linkType: "", isRdma: false,
                expectedPriority: 99, expectedDeviceType: "netdevice", expectedRdma: false),
            Case(
                name: "an explicit priority 0 stays 0", priority: 0, deviceType: "vfio-pci", linkType: "", isRdma: false,
                expectedPriority: 0, expectedDeviceType: "vfio-pci", expectedRdma: false),
            Case(
                name: "linkType ib with netdevice turns RDMA on", priority: 10, deviceType: "", linkType: "ib",
                isRdma: false, expectedPriority: 10, expectedDeviceType: "netdevice", expectedRdma: true),
            Case(
                name: "linkType IB with vfio-pci leaves RDMA off", priority: 10, deviceType: "vfio-pci", linkType: "IB",
                isRdma: false, expectedPriority: 10, expectedDeviceType: "vfio-pci", expectedRdma: false),
            Case(
                name: "linkType eth keeps an explicit isRdma", priority: 10, deviceType: "netdevice", linkType: "eth",
                isRdma: true, expectedPriority: 10, expectedDeviceType: "netdevice", expectedRdma: true),
        ])
    func policyDefaults(_ c: Case) {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.spec.priority = c.priority
        p.spec.deviceType = c.deviceType
        p.spec.linkType = c.linkType
        p.spec.isRdma = c.isRdma
        let d = Defaults.applied(to: p)
        #expect(d.spec.priority == c.expectedPriority)
        #expect(d.spec.deviceType == c.expectedDeviceType)
        #expect(d.spec.isRdma == c.expectedRdma)
    }

    @Test("network logLevel defaults to info; a set level is kept")
    func networkDefaults() {
        var n = SriovV1.SriovNetwork()
        #expect(Defaults.applied(to: n).spec.logLevel == "info")
        n.spec.logLevel = "debug"
        #expect(Defaults.applied(to: n).spec.logLevel == "debug")
    }

    @Test("decoding applies no defaults, so absent fields stay absent")
    func decodingKeepsAbsence() throws {
        let text = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata: {name: p}
            spec: {resourceName: r, numVfs: 1, nicSelector: {vendor: "8086"}, nodeSelector: {}}
            """
        let objects = try CRCodec.decodeObjects(from: text, source: "p.yaml")
        guard case .policy(let p)? = objects.first else {
            Issue.record("not a policy")
            return
        }
        #expect(p.spec.priority == nil)
        #expect(p.spec.deviceType == "")
        #expect(!CRCodec.encode(p).yamlString().contains("priority"))
    }
}
