import SriovAPI
import SriovProto
import Testing

/// Every validation rule with a passing and a failing case. Each case
/// changes a valid object; `failingPath` nil means the change is accepted.
struct ValidationTests {
    struct Case<T: Sendable>: Sendable, CustomTestStringConvertible {
        let name: String
        let failingPath: String?
        let mustMention: [String]
        let change: @Sendable (inout T) -> Void
        init(_ name: String, fails path: String? = nil, mentions: [String] = [], _ change: @escaping @Sendable (inout T) -> Void) {
            self.name = name
            self.failingPath = path
            self.mustMention = mentions
            self.change = change
        }
        var testDescription: String { name }
    }

    typealias PolicyCase = Case<SriovV1.SriovNetworkNodePolicy>
    typealias NetworkCase = Case<SriovV1.SriovNetwork>
    typealias StateCase = Case<SriovV1.SriovNetworkNodeState>

    static var basePolicy: SriovV1.SriovNetworkNodePolicy {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = "policy-1"
        p.metadata.namespace = "sriov-network-operator"
        p.spec.resourceName = "intel_nics_1"
        p.spec.numVfs = 4
        p.spec.nicSelector.vendor = "8086"
        return p
    }

    static func check<T>(_ c: Case<T>, base: T, kind: String, validate: (T) -> [FieldError]) {
        var object = base
        c.change(&object)
        let errors = validate(object)
        guard let path = c.failingPath else {
            #expect(errors.isEmpty, "\(errors)")
            return
        }
        #expect(errors.map(\.path).contains(path), "\(errors)")
        guard let error = errors.first(where: { $0.path == path }) else { return }
        #expect(error.kind == kind)
        for part in c.mustMention { #expect(error.description.contains(part), "\(error.description)") }
    }

    @Test(
        "policy rules",
        arguments: [
            PolicyCase("the base policy is valid") { _ in },
            PolicyCase("metadata.name required", fails: "metadata.name") { $0.metadata.name = "" },
            PolicyCase("metadata.name must be a DNS-1123 subdomain", fails: "metadata.name", mentions: ["\"Policy_1\"", "DNS-1123"]) {
                $0.metadata.name = "Policy_1"
            },
            PolicyCase("a dotted lowercase name is fine") { $0.metadata.name = "a.b-c" },
            PolicyCase("metadata.namespace must be a DNS-1123 label", fails: "metadata.namespace") {
                $0.metadata.namespace = "sriov.operator"
            },
            PolicyCase("resourceName required", fails: "spec.resourceName") { $0.spec.resourceName = "" },
            PolicyCase("resourceName with a dot rejected", fails: "spec.resourceName", mentions: ["\"nics.1\"", "^[a-zA-Z0-9]"]) {
                $0.spec.resourceName = "nics.1"
            },
            PolicyCase("resourceName ending with '_' rejected", fails: "spec.resourceName") { $0.spec.resourceName = "nics_" },
            PolicyCase("resourceName of 64 characters rejected", fails: "spec.resourceName") {
                $0.spec.resourceName = String(repeating: "a", count: 64)
            },
            PolicyCase("resourceName of 63 characters with '-' and '_' accepted") {
                $0.spec.resourceName = "A-b_" + String(repeating: "c", count: 59)
            },
            PolicyCase("numVfs 0 rejected", fails: "spec.numVfs", mentions: ["invalid value 0", "1...1024"]) { $0.spec.numVfs = 0 },
            PolicyCase("numVfs above the cap rejected", fails: "spec.numVfs") { $0.spec.numVfs = 1025 },
            PolicyCase("numVfs at the cap accepted") { $0.spec.numVfs = 1024 },
            PolicyCase("negative mtu rejected", fails: "spec.mtu") { $0.spec.mtu = -1 },
            PolicyCase("mtu above 65535 rejected", fails: "spec.mtu", mentions: ["65536"]) { $0.spec.mtu = 65536 },
            PolicyCase("jumbo mtu accepted") { $0.spec.mtu = 9216 },
            PolicyCase("priority 100 rejected", fails: "spec.priority", mentions: ["0...99"]) { $0.spec.priority = 100 },
            PolicyCase("priority -1 rejected", fails: "spec.priority") { $0.spec.priority = -1 },
            PolicyCase("priority 0 accepted") { $0.spec.priority = 0 },
            PolicyCase("unknown deviceType rejected", fails: "spec.deviceType", mentions: ["netdevice, vfio-pci"]) {
                $0.spec.deviceType = "dpdk"
            },
            PolicyCase("deviceType vfio-pci accepted") { $0.spec.deviceType = "vfio-pci" },
            PolicyCase("linkType Ethernet rejected", fails: "spec.linkType") { $0.spec.linkType = "Ethernet" },
            PolicyCase("linkType IB accepted") { $0.spec.linkType = "IB" },
            PolicyCase("eSwitchMode offload rejected", fails: "spec.eSwitchMode") { $0.spec.eSwitchMode = "offload" },
            PolicyCase("eSwitchMode legacy accepted") { $0.spec.eSwitchMode = "legacy" },
            PolicyCase("vdpaType unknown rejected", fails: "spec.vdpaType") {
                $0.spec.vdpaType = "vdpa"
                $0.spec.eSwitchMode = "switchdev"
            },
            PolicyCase("vdpaType virtio with netdevice and switchdev accepted") {
                $0.spec.vdpaType = "virtio"
                $0.spec.eSwitchMode = "switchdev"
                $0.spec.deviceType = "netdevice"
            },
            PolicyCase("vdpaType without switchdev rejected", fails: "spec.vdpaType", mentions: ["switchdev"]) {
                $0.spec.vdpaType = "vhost"
            },
            PolicyCase("vdpaType with vfio-pci rejected", fails: "spec.vdpaType", mentions: ["netdevice"]) {
                $0.spec.vdpaType = "vhost"
                $0.spec.eSwitchMode = "switchdev"
                $0.spec.deviceType = "vfio-pci"
            },
            PolicyCase("empty nicSelector rejected", fails: "spec.nicSelector", mentions: ["at least one of"]) {
                $0.spec.nicSelector = SriovV1.NicSelector()
            },
            PolicyCase("uppercase vendor rejected", fails: "spec.nicSelector.vendor", mentions: ["\"15B3\""]) {
                $0.spec.nicSelector.vendor = "15B3"
            },
            PolicyCase("vendor 0x8086 rejected", fails: "spec.nicSelector.vendor") { $0.spec.nicSelector.vendor = "0x8086" },
            PolicyCase("five-digit deviceID rejected", fails: "spec.nicSelector.deviceID") {
                $0.spec.nicSelector.deviceID = "15830"
            },
            PolicyCase("deviceID 101b accepted") { $0.spec.nicSelector.deviceID = "101b" },
            PolicyCase("rootDevices without domain rejected", fails: "spec.nicSelector.rootDevices[1]", mentions: ["\"86:00.0\""]) {
                $0.spec.nicSelector.rootDevices = ["0000:86:00.0", "86:00.0"]
            },
            PolicyCase("rootDevices with function 8 rejected", fails: "spec.nicSelector.rootDevices[0]") {
                $0.spec.nicSelector.rootDevices = ["0000:86:00.8"]
            },
            PolicyCase("rootDevices with device 20 rejected", fails: "spec.nicSelector.rootDevices[0]") {
                $0.spec.nicSelector.rootDevices = ["0000:86:20.0"]
            },
            PolicyCase("rootDevices 0000:3b:1f.7 accepted") { $0.spec.nicSelector.rootDevices = ["0000:3b:1f.7"] },
            PolicyCase("pfNames with a range inside numVfs accepted") { $0.spec.nicSelector.pfNames = ["ens1f0#0-3", "ens2"] },
            PolicyCase("pfNames range reaching numVfs rejected", fails: "spec.nicSelector.pfNames[0]", mentions: ["numVfs 4"]) {
                $0.spec.nicSelector.pfNames = ["ens1f0#2-4"]
            },
            PolicyCase("pfNames with first > last rejected", fails: "spec.nicSelector.pfNames[1]", mentions: ["first <= last"]) {
                $0.spec.nicSelector.pfNames = ["ens1", "ens1f0#3-1"]
            },
            PolicyCase("pfNames with two '#' rejected", fails: "spec.nicSelector.pfNames[0]", mentions: ["more than one '#'"]) {
                $0.spec.nicSelector.pfNames = ["ens1f0#0-1#2"]
            },
            PolicyCase("pfNames with a non-integer bound rejected", fails: "spec.nicSelector.pfNames[0]") {
                $0.spec.nicSelector.pfNames = ["ens1f0#a-3"]
            },
            PolicyCase("pfNames with an empty name rejected", fails: "spec.nicSelector.pfNames[0]") {
                $0.spec.nicSelector.pfNames = ["#0-1"]
            },
            PolicyCase("openstack netFilter alone accepted") {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "openstack/NetworkID:12345678-abcd-ef01-2345-6789abcdef01"
            },
            PolicyCase("aws netFilter alone accepted") {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "aws/NetworkID:subnet-0abc"
            },
            PolicyCase("openstack netFilter without a UUID rejected", fails: "spec.nicSelector.netFilter", mentions: ["UUID"]) {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "openstack/NetworkID:abc"
            },
            PolicyCase("unknown netFilter provider rejected", fails: "spec.nicSelector.netFilter") {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "gcp/NetworkID:x"
            },
            PolicyCase("netFilter with vendor rejected", fails: "spec.nicSelector.netFilter", mentions: ["nicSelector.vendor"]) {
                $0.spec.nicSelector.netFilter = "aws/NetworkID:subnet-0abc"
            },
            PolicyCase("netFilter with eSwitchMode rejected", fails: "spec.nicSelector.netFilter", mentions: ["eSwitchMode"]) {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "aws/NetworkID:subnet-0abc"
                $0.spec.eSwitchMode = "legacy"
            },
            PolicyCase("netFilter with linkType ib rejected", fails: "spec.linkType") {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "aws/NetworkID:subnet-0abc"
                $0.spec.linkType = "ib"
            },
            PolicyCase("netFilter with linkType ETH accepted") {
                $0.spec.nicSelector = SriovV1.NicSelector()
                $0.spec.nicSelector.netFilter = "aws/NetworkID:subnet-0abc"
                $0.spec.linkType = "ETH"
            },
            PolicyCase("vfio-pci with isRdma rejected", fails: "spec.isRdma", mentions: ["vfio-pci"]) {
                $0.spec.deviceType = "vfio-pci"
                $0.spec.isRdma = true
            },
            PolicyCase("netdevice with isRdma accepted") {
                $0.spec.deviceType = "netdevice"
                $0.spec.isRdma = true
            },
            PolicyCase("switchdev with linkType ib rejected", fails: "spec.eSwitchMode", mentions: ["linkType eth"]) {
                $0.spec.eSwitchMode = "switchdev"
                $0.spec.linkType = "ib"
            },
            PolicyCase("switchdev with linkType eth accepted") {
                $0.spec.eSwitchMode = "switchdev"
                $0.spec.linkType = "eth"
            },
        ])
    func policyRules(_ c: PolicyCase) {
        Self.check(c, base: Self.basePolicy, kind: "SriovNetworkNodePolicy", validate: Validation.validate)
    }

    static var baseNetwork: SriovV1.SriovNetwork {
        var n = SriovV1.SriovNetwork()
        n.metadata.name = "net-1"
        n.metadata.namespace = "sriov-network-operator"
        n.spec.resourceName = "intel_nics_1"
        return n
    }

    @Test(
        "network rules",
        arguments: [
            NetworkCase("the base network is valid") { _ in },
            NetworkCase("metadata.name must be a DNS-1123 subdomain", fails: "metadata.name") { $0.metadata.name = "-net" },
            NetworkCase("metadata.namespace must be a DNS-1123 label", fails: "metadata.namespace") {
                $0.metadata.namespace = "-ns"
            },
            NetworkCase("resourceName required", fails: "spec.resourceName", mentions: ["required"]) { $0.spec.resourceName = "" },
            NetworkCase("resourceName syntax", fails: "spec.resourceName") { $0.spec.resourceName = "a/b" },
            NetworkCase("networkNamespace must be a DNS-1123 label", fails: "spec.networkNamespace") {
                $0.spec.networkNamespace = "Team.A"
            },
            NetworkCase("networkNamespace accepted") { $0.spec.networkNamespace = "team-a" },
            NetworkCase("vlan 4096 rejected", fails: "spec.vlan", mentions: ["0...4095"]) { $0.spec.vlan = 4096 },
            NetworkCase("vlan -1 rejected", fails: "spec.vlan") { $0.spec.vlan = -1 },
            NetworkCase("vlan 4095 accepted") { $0.spec.vlan = 4095 },
            NetworkCase("vlanQoS 8 rejected", fails: "spec.vlanQoS", mentions: ["0...7"]) { $0.spec.vlanQos = 8 },
            NetworkCase("vlanQoS 7 accepted") { $0.spec.vlanQos = 7 },
            NetworkCase("vlanProto 802.1x rejected", fails: "spec.vlanProto", mentions: ["802.1q, 802.1Q, 802.1ad, 802.1AD"]) {
                $0.spec.vlanProto = "802.1x"
            },
            NetworkCase("vlanProto 802.1AD accepted") { $0.spec.vlanProto = "802.1AD" },
            NetworkCase("spoofChk true rejected", fails: "spec.spoofChk", mentions: ["on, off"]) { $0.spec.spoofChk = "true" },
            NetworkCase("spoofChk off accepted") { $0.spec.spoofChk = "off" },
            NetworkCase("trust yes rejected", fails: "spec.trust") { $0.spec.trust = "yes" },
            NetworkCase("trust on accepted") { $0.spec.trust = "on" },
            NetworkCase("linkState up rejected", fails: "spec.linkState", mentions: ["auto, enable, disable"]) {
                $0.spec.linkState = "up"
            },
            NetworkCase("linkState auto accepted") { $0.spec.linkState = "auto" },
            NetworkCase("negative minTxRate rejected", fails: "spec.minTxRate") { $0.spec.minTxRate = -1 },
            NetworkCase("negative maxTxRate rejected", fails: "spec.maxTxRate") { $0.spec.maxTxRate = -5 },
            NetworkCase("minTxRate above maxTxRate rejected", fails: "spec.minTxRate", mentions: ["maxTxRate 100"]) {
                $0.spec.minTxRate = 200
                $0.spec.maxTxRate = 100
            },
            NetworkCase("minTxRate with maxTxRate 0 (no limit) accepted") {
                $0.spec.minTxRate = 200
                $0.spec.maxTxRate = 0
            },
            NetworkCase("minTxRate equal to maxTxRate accepted") {
                $0.spec.minTxRate = 100
                $0.spec.maxTxRate = 100
            },
            NetworkCase("ipam that is not JSON rejected", fails: "spec.ipam", mentions: ["JSON object"]) {
                $0.spec.ipam = "{type: host-local}"
            },
            NetworkCase("ipam that is a JSON list rejected", fails: "spec.ipam") { $0.spec.ipam = "[]" },
            NetworkCase("ipam JSON object accepted") { $0.spec.ipam = "{\n \"type\": \"dhcp\"\n}\n" },
            NetworkCase("capabilities not an object rejected", fails: "spec.capabilities") { $0.spec.capabilities = "true" },
            NetworkCase("capabilities object accepted") { $0.spec.capabilities = #"{"mac": true}"# },
            NetworkCase("metaPlugins that is not JSON rejected", fails: "spec.metaPlugins") { $0.spec.metaPlugins = "tuning" },
            NetworkCase("metaPlugins with a non-object rejected", fails: "spec.metaPlugins") {
                $0.spec.metaPlugins = #"{"type": "tuning"}, 3"#
            },
            NetworkCase("metaPlugins with two objects accepted") {
                $0.spec.metaPlugins = #"{"type": "tuning"}, {"type": "vrf", "vrfname": "blue"}"#
            },
            NetworkCase("logLevel verbose rejected", fails: "spec.logLevel", mentions: ["panic, error, warning, info, debug"]) {
                $0.spec.logLevel = "verbose"
            },
            NetworkCase("logLevel warning accepted") { $0.spec.logLevel = "warning" },
        ])
    func networkRules(_ c: NetworkCase) {
        Self.check(c, base: Self.baseNetwork, kind: "SriovNetwork", validate: Validation.validate)
    }

    static var baseState: SriovV1.SriovNetworkNodeState {
        var s = SriovV1.SriovNetworkNodeState()
        s.metadata.name = "worker-1"
        var group = SriovV1.VfGroup()
        group.resourceName = "intel_nics_1"
        group.deviceType = "netdevice"
        group.vfRange = "0-3"
        var iface = SriovV1.Interface()
        iface.pciAddress = "0000:86:00.0"
        iface.numVfs = 4
        iface.vfGroups = [group]
        s.spec.interfaces = [iface]
        var ext = SriovV1.InterfaceExt()
        ext.pciAddress = "0000:86:00.0"
        var vf = SriovV1.VirtualFunction()
        vf.pciAddress = "0000:86:02.0"
        ext.vfs = [vf]
        s.status.interfaces = [ext]
        s.status.syncStatus = "Succeeded"
        return s
    }

    @Test(
        "node state rules",
        arguments: [
            StateCase("the base node state is valid") { _ in },
            StateCase("metadata.name required", fails: "metadata.name") { $0.metadata.name = "" },
            StateCase("spec pciAddress syntax", fails: "spec.interfaces[0].pciAddress") {
                $0.spec.interfaces[0].pciAddress = "0000:86:00"
            },
            StateCase("spec numVfs above the cap rejected", fails: "spec.interfaces[0].numVfs") {
                $0.spec.interfaces[0].numVfs = 2000
            },
            StateCase("vfRange syntax", fails: "spec.interfaces[0].vfGroups[0].vfRange", mentions: ["first-last"]) {
                $0.spec.interfaces[0].vfGroups[0].vfRange = "0..3"
            },
            StateCase("vfRange beyond numVfs rejected", fails: "spec.interfaces[0].vfGroups[0].vfRange", mentions: ["numVfs 4"]) {
                $0.spec.interfaces[0].vfGroups[0].vfRange = "2-4"
            },
            StateCase("vfRange 1-2 accepted") { $0.spec.interfaces[0].vfGroups[0].vfRange = "1-2" },
            StateCase("group deviceType enum", fails: "spec.interfaces[0].vfGroups[0].deviceType") {
                $0.spec.interfaces[0].vfGroups[0].deviceType = "uio"
            },
            StateCase("rdmaMode enum", fails: "spec.system.rdmaMode", mentions: ["shared, exclusive"]) {
                $0.spec.system.rdmaMode = "private"
            },
            StateCase("status pciAddress syntax", fails: "status.interfaces[0].pciAddress") {
                $0.status.interfaces[0].pciAddress = "86:00.0"
            },
            StateCase("status VF pciAddress syntax", fails: "status.interfaces[0].Vfs[0].pciAddress") {
                $0.status.interfaces[0].vfs[0].pciAddress = ""
            },
            StateCase("syncStatus enum", fails: "status.syncStatus", mentions: ["Succeeded, Failed, InProgress"]) {
                $0.status.syncStatus = "Done"
            },
            StateCase("syncStatus InProgress accepted") { $0.status.syncStatus = "InProgress" },
            StateCase("spec mtu above 65535 rejected", fails: "spec.interfaces[0].mtu") { $0.spec.interfaces[0].mtu = 70000 },
            StateCase("spec linkType enum", fails: "spec.interfaces[0].linkType") { $0.spec.interfaces[0].linkType = "fc" },
            StateCase("spec eSwitchMode enum", fails: "spec.interfaces[0].eSwitchMode") {
                $0.spec.interfaces[0].eSwitchMode = "offload"
            },
            StateCase("group vdpaType enum", fails: "spec.interfaces[0].vfGroups[0].vdpaType") {
                $0.spec.interfaces[0].vfGroups[0].vdpaType = "vdpa"
            },
            StateCase("group resourceName syntax", fails: "spec.interfaces[0].vfGroups[0].resourceName") {
                $0.spec.interfaces[0].vfGroups[0].resourceName = "a b"
            },
            StateCase("group mtu negative rejected", fails: "spec.interfaces[0].vfGroups[0].mtu") {
                $0.spec.interfaces[0].vfGroups[0].mtu = -9000
            },
            StateCase("a group without a range on a PF with VFs rejected", fails: "spec.interfaces[0].vfGroups[0].vfRange") {
                $0.spec.interfaces[0].vfGroups[0].vfRange = ""
            },
            StateCase("status rdmaMode enum", fails: "status.system.rdmaMode") { $0.status.system.rdmaMode = "all" },
            StateCase("every optional field set to an accepted value") {
                $0.spec.interfaces[0].mtu = 9000
                $0.spec.interfaces[0].linkType = "ETH"
                $0.spec.interfaces[0].eSwitchMode = "switchdev"
                $0.spec.interfaces[0].vfGroups[0].vdpaType = "virtio"
                $0.spec.interfaces[0].vfGroups[0].mtu = 1500
                $0.spec.system.rdmaMode = "shared"
                $0.status.system.rdmaMode = "exclusive"
            },
        ])
    func nodeStateRules(_ c: StateCase) {
        Self.check(c, base: Self.baseState, kind: "SriovNetworkNodeState", validate: Validation.validate)
    }

    @Test("all problems of a policy come back together, and check() throws them as one list")
    func aggregated() {
        var p = Self.basePolicy
        p.spec.numVfs = 0
        p.spec.resourceName = ""
        p.spec.deviceType = "x"
        let errors = Validation.validate(p)
        #expect(Set(errors.map(\.path)) == ["spec.numVfs", "spec.resourceName", "spec.deviceType"])
        #expect(throws: FieldErrorList(errors)) { try Validation.check(p) }
        #expect(errors.allSatisfy { $0.description.hasPrefix("SriovNetworkNodePolicy \"policy-1\": spec.") })
    }

    struct PfNameCase: Sendable, CustomTestStringConvertible {
        let text: String
        let expected: PfNameSelector?
        var testDescription: String { text }
    }

    @Test(
        "pfNames entries parse as name or name#first-last",
        arguments: [
            PfNameCase(text: "ens1f0", expected: PfNameSelector(name: "ens1f0")),
            PfNameCase(text: "ens1f0#0-7", expected: PfNameSelector(name: "ens1f0", range: 0...7)),
            PfNameCase(text: "ens1f0#3-3", expected: PfNameSelector(name: "ens1f0", range: 3...3)),
            PfNameCase(text: "ens1f0#", expected: nil),
            PfNameCase(text: "ens1f0#5", expected: nil),
            PfNameCase(text: "ens1f0#-1-2", expected: nil),
            PfNameCase(text: "ens1f0#4-2", expected: nil),
            PfNameCase(text: "a#1-2#3", expected: nil),
            PfNameCase(text: "", expected: nil),
        ])
    func pfNameSelector(_ c: PfNameCase) {
        let parsed = try? PfNameSelector.parse(c.text)
        #expect(parsed == c.expected)
        if let parsed { #expect(parsed.description == c.text) }
    }
}
