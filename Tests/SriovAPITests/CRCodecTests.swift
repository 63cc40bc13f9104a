import Foundation
import SriovAPI
import SriovProto
import Testing

/// Typed codecs: the seed's examples, round trips through protobuf, lists,
/// strict-decoding errors and the 2019 aliases.
struct CRCodecTests {
    static func decodeOne(_ text: String, source: String = "t.yaml") throws -> APIObject {
        let objects = try CRCodec.decodeObjects(from: text, source: source)
        guard objects.count == 1, let first = objects.first else {
            throw FieldErrorList([])
        }
        return first
    }

    static func errors(of text: String) -> [FieldError] {
        do {
            _ = try CRCodec.decodeObjects(from: text, source: "bad.yaml")
            return []
        } catch let list as FieldErrorList {
            return list.errors
        } catch {
            Issue.record("unexpected \(type(of: error)): \(error)")
            return []
        }
    }

    @Test("the seed's policy YAML parses to the expected values")
    func seedPolicy() throws {
        let text = try RepoPathsShim.read("examples/seed/policy.yaml")
        guard case .policy(let p) = try Self.decodeOne(text, source: "policy.yaml") else {
            Issue.record("not a policy")
            return
        }
        var expected = SriovV1.SriovNetworkNodePolicy()
        expected.metadata.name = "policy-1"
        expected.metadata.namespace = "sriov-network-operator"
        expected.spec.deviceType = "vfio-pci"
        expected.spec.mtu = 1500
        expected.spec.nicSelector.deviceID = "1583"
        expected.spec.nicSelector.rootDevices = ["0000:86:00.0"]
        expected.spec.nicSelector.vendor = "8086"
        expected.spec.nodeSelector = ["feature.node.kubernetes.io/sriov-capable": "true"]
        expected.spec.numVfs = 4
        expected.spec.priority = 90
        expected.spec.resourceName = "intel_nics_1"
        #expect(p == expected)
        #expect(Validation.validate(p).isEmpty)
    }

    @Test("the seed's network YAML parses to the expected values, ipam kept as written")
    func seedNetwork() throws {
        let text = try RepoPathsShim.read("examples/seed/network.yaml")
        guard case .network(let n) = try Self.decodeOne(text, source: "network.yaml") else {
            Issue.record("not a network")
            return
        }
        #expect(n.metadata.name == "example-network")
        #expect(n.metadata.namespace == "example-namespace")
        #expect(n.spec.resourceName == "intel_nics_1")
        #expect(n.spec.vlan == 0)
        #expect(n.spec.ipam.hasPrefix("{\n  \"type\": \"host-local\",\n  \"subnet\": \"10.56.217.0/24\",\n"))
        #expect(n.spec.ipam.hasSuffix("  \"gateway\": \"10.56.217.1\"\n}\n"))
        #expect(Validation.validate(n).isEmpty)
    }

    @Test("the seed's node state (re-indented) reads its 2019 spellings: interface deviceType and maxVfs")
    func seedNodeStateAliases() throws {
        let text = try RepoPathsShim.read("examples/seed-nodestate/nodestate.yaml")
        guard case .nodeState(let s) = try Self.decodeOne(text, source: "nodestate.yaml") else {
            Issue.record("not a node state")
            return
        }
        #expect(s.spec.interfaces.count == 1)
        var group = SriovV1.VfGroup()
        group.deviceType = "vfio-pci"
        group.vfRange = "0-3"
        #expect(s.spec.interfaces.first?.vfGroups == [group])
        #expect(s.status.interfaces.map(\.totalvfs) == [64, 64])
        #expect(s.status.interfaces.first?.vfs.map(\.deviceID) == ["154c", "154c", "154c", "154c"])
        #expect(s.status.interfaces.first?.vendor == "8086")
        #expect(s.status.interfaces.first?.deviceID == "1583")
        // Written back with upstream's names only.
        let yaml = CRCodec.encode(s).yamlString()
        #expect(yaml.contains("totalvfs: 64"))
        #expect(!yaml.contains("maxVfs"))
        #expect(yaml.contains("vfGroups:\n    - deviceType: vfio-pci\n      vfRange: 0-3\n"))
        #expect(Validation.validate(s).isEmpty)
    }

    @Test("an alias that contradicts the upstream field is an error naming both")
    func aliasConflicts() {
        let text = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodeState
            metadata: {name: w1}
            spec:
              interfaces:
              - pciAddress: 0000:86:00.0
                numVfs: 2
                deviceType: netdevice
                vfGroups: [{deviceType: vfio-pci, vfRange: 0-1}]
            status:
              interfaces:
              - pciAddress: 0000:86:00.0
                maxVfs: 64
                totalvfs: 64
            """
        let errors = Self.errors(of: text)
        #expect(errors.map(\.path) == ["spec.interfaces[0].deviceType", "status.interfaces[0].maxVfs"])
        #expect(errors.allSatisfy { $0.kind == "SriovNetworkNodeState" && $0.name == "w1" })
    }

    /// YAML → Swift → protobuf bytes → Swift → YAML, then the typed values
    /// and the YAML text must match.
    static func roundTrip(_ object: APIObject) throws -> (APIObject, String) {
        let yaml = CRCodec.encode(object).yamlString()
        let decoded = try decodeOne(yaml)
        let viaProto: APIObject
        switch decoded {
        case .policy(let p): viaProto = .policy(try SriovV1.SriovNetworkNodePolicy(serializedBytes: p.serializedBytes()))
        case .network(let n): viaProto = .network(try SriovV1.SriovNetwork(serializedBytes: n.serializedBytes()))
        case .nodeState(let s):
            viaProto = .nodeState(try SriovV1.SriovNetworkNodeState(serializedBytes: s.serializedBytes()))
        case .node(let n): viaProto = .node(n)
        }
        return (viaProto, CRCodec.encode(viaProto).yamlString())
    }

    @Test(
        "seed files round-trip YAML → Swift → protobuf → Swift → YAML without loss",
        arguments: ["examples/seed/policy.yaml", "examples/seed/network.yaml", "examples/seed-nodestate/nodestate.yaml"])
    func seedRoundTrip(_ path: String) throws {
        let original = try Self.decodeOne(try RepoPathsShim.read(path), source: path)
        let firstYAML = CRCodec.encode(original).yamlString()
        let (back, secondYAML) = try Self.roundTrip(original)
        #expect(back == original)
        #expect(secondYAML == firstYAML)
    }

    @Test(
        "objects with every field set round-trip through YAML and protobuf without loss",
        arguments: [
            APIObject.policy(RichObjects.policy), .network(RichObjects.network), .nodeState(RichObjects.nodeState),
            .node(KubeNode(name: "worker-1", labels: ["kubernetes.io/os": "linux", "x": "1583"])),
        ])
    func richRoundTrip(_ object: APIObject) throws {
        let (back, yaml) = try Self.roundTrip(object)
        #expect(back == object)
        #expect(yaml == CRCodec.encode(object).yamlString())
        // JSON text of the encoded object reads back to the same object too.
        let json = CRCodec.encode(object).jsonString(indent: 4)
        #expect(try Self.decodeOne(json, source: "x.json") == object)
    }

    @Test("the seed policy encodes to kubectl-style YAML with sorted keys and quoted IDs")
    func seedPolicyYAMLPinned() throws {
        let object = try Self.decodeOne(try RepoPathsShim.read("examples/seed/policy.yaml"))
        let expected = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata:
              name: policy-1
              namespace: sriov-network-operator
            spec:
              deviceType: vfio-pci
              mtu: 1500
              nicSelector:
                deviceID: "1583"
                rootDevices:
                - 0000:86:00.0
                vendor: "8086"
              nodeSelector:
                feature.node.kubernetes.io/sriov-capable: "true"
              numVfs: 4
              priority: 90
              resourceName: intel_nics_1

            """
        #expect(CRCodec.encode(object).yamlString() == expected)
    }

    @Test("metadata timestamps, status conditions and Vfs use upstream's spelling")
    func richEncodingSpelling() {
        let state = CRCodec.encode(.nodeState(RichObjects.nodeState)).yamlString()
        #expect(state.contains("creationTimestamp: \"2019-05-21T10:04:00.5Z\""))
        #expect(state.contains("  - Vfs:\n    - Vlan: 100\n"))
        #expect(state.contains("      vfID: 0\n"))
        let network = CRCodec.encode(.network(RichObjects.network)).yamlString()
        #expect(network.contains("status:\n  conditions:\n  - lastTransitionTime: \"2023-11-14T22:13:20Z\"\n"))
        #expect(network.contains("  vlanQoS: 5\n"))
        #expect(network.contains("  minTxRate: 0\n"))
    }

    @Test("a multi-document stream decodes every object in order, skipping empty documents")
    func multiDocumentObjects() throws {
        let policy = try RepoPathsShim.read("examples/seed/policy.yaml")
        let network = try RepoPathsShim.read("examples/seed/network.yaml")
        let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n  labels:\n    a: b\n"
        let text = "---\n" + policy + "---\n---\n" + network + "---\n" + node
        let objects = try CRCodec.decodeObjects(from: text, source: "all.yaml")
        #expect(objects.map(\.kind) == ["SriovNetworkNodePolicy", "SriovNetwork", "Node"])
        #expect(objects.map(\.name) == ["policy-1", "example-network", "worker-1"])
    }

    @Test("List wrappers are unwrapped recursively; Node fields other than name and labels are ignored")
    func listUnwrapping() throws {
        let text = """
            apiVersion: v1
            kind: List
            metadata:
              resourceVersion: ""
            items:
            - apiVersion: v1
              kind: NodeList
              items:
              - apiVersion: v1
                kind: Node
                metadata:
                  name: worker-1
                  labels:
                    kubernetes.io/hostname: worker-1
                  annotations: {x: y}
                  uid: abc
                spec:
                  podCIDR: 10.0.0.0/24
                status:
                  capacity: {cpu: "8"}
            - apiVersion: sriovnetwork.openshift.io/v1
              kind: SriovNetwork
              metadata: {name: n1}
              spec: {resourceName: r1}
            """
        let objects = try CRCodec.decodeObjects(from: text, source: "list.yaml")
        #expect(objects == [.node(KubeNode(name: "worker-1", labels: ["kubernetes.io/hostname": "worker-1"])), objects[1]])
        #expect(objects.map(\.kind) == ["Node", "SriovNetwork"])
    }

    struct StrictCase: CustomTestStringConvertible, Sendable {
        let name: String
        let spec: String
        let path: String
        let code: FieldError.Code
        let mustMention: [String]
        var testDescription: String { name }
    }

    @Test(
        "strict decoding names the path, the value and what is accepted",
        arguments: [
            StrictCase(
                name: "unknown spec field", spec: "numVf: 4", path: "spec.numVf", code: .unknownField,
                mustMention: ["SriovNetworkNodePolicy \"p1\"", "unknown field \"numVf\"", "numVfs", "resourceName"]),
            StrictCase(
                name: "unknown nicSelector field", spec: "nicSelector: {vendorID: \"8086\"}",
                path: "spec.nicSelector.vendorID", code: .unknownField, mustMention: ["vendor", "deviceID", "pfNames"]),
            StrictCase(
                name: "string for an integer", spec: "numVfs: four", path: "spec.numVfs", code: .wrongType,
                mustMention: ["\"four\"", "expected integer", "got string"]),
            StrictCase(
                name: "quoted number for an integer", spec: "mtu: \"1500\"", path: "spec.mtu", code: .wrongType,
                mustMention: ["\"1500\"", "expected integer"]),
            StrictCase(
                name: "integer out of 32-bit range", spec: "numVfs: 4294967296", path: "spec.numVfs", code: .wrongType,
                mustMention: ["4294967296", "out of range"]),
            StrictCase(
                name: "a number with a fraction for an integer", spec: "numVfs: 4.0", path: "spec.numVfs",
                code: .wrongType, mustMention: ["4", "expected integer", "got number"]),
            StrictCase(
                name: "string for a boolean", spec: "isRdma: yes", path: "spec.isRdma", code: .wrongType,
                mustMention: ["\"yes\"", "expected boolean"]),
            StrictCase(
                name: "list for a string", spec: "resourceName: [a]", path: "spec.resourceName", code: .wrongType,
                mustMention: ["expected string", "got list"]),
            StrictCase(
                name: "scalar for a list", spec: "nicSelector: {pfNames: ens1f0}", path: "spec.nicSelector.pfNames",
                code: .wrongType, mustMention: ["expected list of strings"]),
            StrictCase(
                name: "boolean in a string map", spec: "nodeSelector: {sriov: true}", path: "spec.nodeSelector[sriov]",
                code: .wrongType, mustMention: ["expected string", "got boolean"]),
        ])
    func strictErrors(_ c: StrictCase) {
        let text = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata:
              name: p1
            spec:
              \(c.spec)
            """
        let errors = Self.errors(of: text)
        #expect(errors.count == 1)
        guard let e = errors.first else { return }
        #expect(e.path == c.path)
        #expect(e.code == c.code)
        #expect(e.location == "bad.yaml (document 0)")
        #expect(e.line == 6)
        #expect(e.description.hasPrefix("bad.yaml (document 0), line 6: SriovNetworkNodePolicy \"p1\": \(c.path): "))
        for part in c.mustMention { #expect(e.description.contains(part), "\(e.description)") }
    }

    @Test("every error of every object is reported at once")
    func allErrorsAtOnce() {
        let text = """
            apiVersion: sriovnetwork.openshift.io/v2
            kind: SriovNetwork
            metadata: {name: n1, owner: me}
            spec:
              vlan: high
              vlanQos: 3
              resourceName: r1
            status: {conditions: [{type: Ready, since: now}]}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm}
            """
        let errors = Self.errors(of: text)
        #expect(
            errors.map(\.path) == [
                "apiVersion", "metadata.owner", "spec.vlanQos", "spec.vlan", "status.conditions[0].since", "kind",
            ])
        #expect(errors.map(\.location) == Array(repeating: "bad.yaml (document 0)", count: 5) + ["bad.yaml (document 1)"])
        #expect(errors.last?.description.contains("unsupported kind") == true)
    }

    @Test("errors carry the line of the field, in YAML after empty documents and in JSON")
    func errorLines() {
        let yaml = """
            ---
            ---
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata:
              name: p1
              labels:
                a.b/c: true
            spec:
              nicSelector:
                pfNames:
                - ens1
                - [x]
            """
        let errors = Self.errors(of: yaml)
        #expect(errors.map(\.path) == ["metadata.labels[a.b/c]", "spec.nicSelector.pfNames[1]"])
        #expect(errors.map(\.line) == [8, 13])
        #expect(errors.map(\.location) == ["bad.yaml (document 1)", "bad.yaml (document 1)"])
        let json = """
            {
              "apiVersion": "sriovnetwork.openshift.io/v1",
              "kind": "SriovNetwork",
              "metadata": {"name": "n1"},
              "spec": {
                "resourceName": "r1",
                "vlan": "100"
              }
            }
            """
        let jsonErrors = Self.errors(of: json)
        #expect(jsonErrors.map(\.path) == ["spec.vlan"])
        #expect(jsonErrors.map(\.line) == [7])
    }

    @Test("an error in a later document is located after valid documents with nested collections")
    func errorLineAfterValidDocuments() {
        let yaml = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetwork
            metadata: {name: n1}
            spec:
              resourceName: r1
              ipam: "{}"
            ---
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetwork
            metadata:
              name: n2
            spec:
              resourceName: r2
              vlan: "x"
            """
        let errors = Self.errors(of: yaml)
        #expect(errors.map(\.path) == ["spec.vlan"])
        #expect(errors.map(\.line) == [14])
        #expect(errors.map(\.location) == ["bad.yaml (document 1)"])
    }

    @Test("an error in a later document gets its line when the documents before it are valid")
    func errorLineAfterValidFlowDocuments() {
        // The valid first document's collections were never tracked by the
        // line search; closing them used to pop an empty stack (found by the
        // cr fuzz target).
        let yaml = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetwork
            metadata: {name: n1}
            spec:
              resourceName: r1
              vlan: 10
            ---
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetwork
            metadata: {name: n2}
            spec:
              resourceName: r2
              vlan: "100"
            """
        let errors = Self.errors(of: yaml)
        #expect(errors.map(\.path) == ["spec.vlan"])
        #expect(errors.map(\.line) == [13])
        #expect(errors.map(\.location) == ["bad.yaml (document 1)"])
    }

    @Test("unknown fields are found below List items with the item's path")
    func listItemPaths() {
        let text = """
            kind: List
            items:
            - apiVersion: sriovnetwork.openshift.io/v1
              kind: SriovNetworkNodePolicy
              metadata: {name: p1}
              spec: {resourceName: r, bogus: 1}
            """
        #expect(Self.errors(of: text).map(\.path) == ["items[0].spec.bogus"])
    }

    struct TimeCase: Sendable, CustomTestStringConvertible {
        let text: String
        let seconds: Int64
        let nanos: Int32
        let canonical: String
        var testDescription: String { text }
    }

    @Test(
        "RFC 3339 timestamps convert to and from google.protobuf.Timestamp",
        arguments: [
            TimeCase(text: "1970-01-01T00:00:00Z", seconds: 0, nanos: 0, canonical: "1970-01-01T00:00:00Z"),
            TimeCase(text: "2019-05-21T10:04:00Z", seconds: 1_558_433_040, nanos: 0, canonical: "2019-05-21T10:04:00Z"),
            TimeCase(
                text: "2019-05-21T12:04:00.25+02:00", seconds: 1_558_433_040, nanos: 250_000_000,
                canonical: "2019-05-21T10:04:00.25Z"),
            TimeCase(text: "2024-02-29T23:59:59Z", seconds: 1_709_251_199, nanos: 0, canonical: "2024-02-29T23:59:59Z"),
            TimeCase(text: "1969-12-31T23:59:59Z", seconds: -1, nanos: 0, canonical: "1969-12-31T23:59:59Z"),
        ])
    func rfc3339(_ c: TimeCase) throws {
        let t = try #require(RFC3339.parse(c.text))
        #expect(t.seconds == c.seconds)
        #expect(t.nanos == c.nanos)
        #expect(RFC3339.format(t) == c.canonical)
    }

    @Test("malformed timestamps are rejected", arguments: ["2019-02-29T00:00:00Z", "2019-05-21 10:04:00Z", "2019-05-21T10:04:00", "yesterday"])
    func rfc3339Bad(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
