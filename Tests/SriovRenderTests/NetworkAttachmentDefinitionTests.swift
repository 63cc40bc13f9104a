import SriovAPI
import SriovProto
import Testing
@testable import SriovRender

/// NetworkAttachmentDefinitions and their SR-IOV CNI configuration.
struct NetworkAttachmentDefinitionTests {
    /// Upstream's `api/v1/testdata/TestRendering/simple.golden`, byte for byte.
    static let simpleGolden = """
    {
      "apiVersion": "k8s.cni.cncf.io/v1",
      "kind": "NetworkAttachmentDefinition",
      "metadata": {
        "annotations": {
          "k8s.v1.cni.cncf.io/resourceName": "/testresource",
          "sriovnetwork.openshift.io/owner": "SriovNetwork.sriovnetwork.openshift.io/ns/test"
        },
        "name": "test",
        "namespace": "testnamespace"
      },
      "spec": {
        "config": "{ \\"cniVersion\\":\\"1.0.0\\", \\"name\\":\\"test\\",\\"type\\":\\"sriov\\",\\"vlan\\":0,\\"vlanQoS\\":0,\\"ipam\\":{} }"
      }
    }

    """

    /// Upstream's `api/v1/testdata/TestRendering/chained.golden`, byte for byte
    /// (a later upstream version, with the annotation renamed `owner-ref`).
    static let chainedGolden = """
    {
      "apiVersion": "k8s.cni.cncf.io/v1",
      "kind": "NetworkAttachmentDefinition",
      "metadata": {
        "annotations": {
          "k8s.v1.cni.cncf.io/resourceName": "/testresource",
          "sriovnetwork.openshift.io/owner-ref": "SriovNetwork.sriovnetwork.openshift.io/ns/test"
        },
        "name": "test",
        "namespace": "testnamespace"
      },
      "spec": {
        "config": "{ \\"cniVersion\\":\\"1.0.0\\", \\"name\\":\\"test\\",\\"plugins\\": [ {\\"type\\":\\"sriov\\",\\"vlan\\":0,\\"vlanQoS\\":0,\\"ipam\\":{} }, {\\"type\\":\\"vrf\\",\\"vrfname\\":\\"blue\\"} ] }"
      }
    }

    """

    /// The NAD as upstream's test encodes it (Go map keys sorted, two-space
    /// indent, trailing newline), with the template output as config.
    static func goldenDocument(_ network: SriovV1.SriovNetwork, ownerKey: String) throws -> String {
        let nad = try NetworkAttachmentDefinition.render(network, resourcePrefix: "")
        let doc = CRValue.object([
            ("apiVersion", .string("k8s.cni.cncf.io/v1")),
            ("kind", .string("NetworkAttachmentDefinition")),
            ("metadata", .object([
                ("annotations", .object([
                    (NetworkAttachmentDefinition.resourceNameAnnotation, .string(nad.resourceName)),
                    (ownerKey, .string(nad.owner)),
                ])),
                ("name", .string(nad.name)),
                ("namespace", .string(nad.namespace)),
            ])),
            ("spec", .object([("config", .string(SriovCNIConfig.templateText(network)))])),
        ])
        return GoJSON.encode(doc, indent: "  ") + "\n"
    }

    @Test func simpleGoldenMatches() throws {
        let network = Fixtures.network("test") { $0.networkNamespace = "testnamespace" }
        #expect(try Self.goldenDocument(network, ownerKey: "sriovnetwork.openshift.io/owner") == Self.simpleGolden)
    }

    @Test func chainedGoldenMatches() throws {
        let network = Fixtures.network("test") {
            $0.networkNamespace = "testnamespace"
            $0.metaPlugins = #"{"type":"vrf","vrfname":"blue"}"#
        }
        #expect(try Self.goldenDocument(network, ownerKey: NetworkAttachmentDefinition.ownerAnnotation) == Self.chainedGolden)
    }

    @Test func storedConfigIsReindentedWithFourSpacesInTemplateKeyOrder() throws {
        var network = Fixtures.network("net-a", namespace: "sriov-network-operator", resource: "intel_nics_1") {
            $0.networkNamespace = "app-ns"
            $0.vlan = 100
            $0.spoofChk = "on"
            $0.trust = "off"
            $0.linkState = "auto"
            $0.minTxRate = 100
            $0.maxTxRate = 1000
            $0.logLevel = "info"
            $0.ipam = #"{"type": "host-local", "subnet": "10.56.217.0/24"}"#
        }
        network.spec.vlanProto = "802.1Q"
        network.spec.capabilities = #"{"mac": true}"#
        network.spec.logFile = "/var/log/sriov.log"
        let nad = try NetworkAttachmentDefinition.render(network, resourcePrefix: "openshift.io")
        #expect(nad.namespace == "app-ns")
        #expect(nad.resourceName == "openshift.io/intel_nics_1")
        #expect(nad.owner == "SriovNetwork.sriovnetwork.openshift.io/sriov-network-operator/net-a")
        #expect(nad.config == """
        {
            "cniVersion": "1.0.0",
            "name": "net-a",
            "type": "sriov",
            "vlan": 100,
            "spoofchk": "on",
            "trust": "off",
            "vlanQoS": 0,
            "vlanProto": "802.1Q",
            "min_tx_rate": 100,
            "max_tx_rate": 1000,
            "capabilities": {
                "mac": true
            },
            "link_state": "auto",
            "logLevel": "info",
            "logFile": "/var/log/sriov.log",
            "ipam": {
                "type": "host-local",
                "subnet": "10.56.217.0/24"
            }
        }
        """)
    }

    @Test func metaPluginsMakeAPluginList() throws {
        let network = Fixtures.network("test") { $0.metaPlugins = #"{"type":"vrf","vrfname":"blue"}"# }
        let nad = try NetworkAttachmentDefinition.render(network, resourcePrefix: "openshift.io")
        #expect(nad.namespace == "ns")
        #expect(nad.config == """
        {
            "cniVersion": "1.0.0",
            "name": "test",
            "plugins": [
                {
                    "type": "sriov",
                    "vlan": 0,
                    "vlanQoS": 0,
                    "ipam": {}
                },
                {
                    "type": "vrf",
                    "vrfname": "blue"
                }
            ]
        }
        """)
    }

    @Test func ipamWhitespaceIsStrippedEvenInsideStrings() {
        let network = Fixtures.network("n") { $0.ipam = "{ \"type\": \"static\", \"note\": \"a b\" }" }
        #expect(SriovCNIConfig.templateText(network).hasSuffix(#""ipam":{"type":"static","note":"ab"} }"#))
    }

    @Test func invalidRawJSONIsAnError() {
        let network = Fixtures.network("bad") { $0.capabilities = "{mac: true}" }
        #expect(throws: NetworkRenderError.self) {
            try NetworkAttachmentDefinition.render(network, resourcePrefix: "openshift.io")
        }
    }

    @Test func objectShape() throws {
        let nad = try NetworkAttachmentDefinition.render(Fixtures.network("n"), resourcePrefix: "openshift.io")
        let value = nad.crValue
        #expect(value["apiVersion"] == .string("k8s.cni.cncf.io/v1"))
        #expect(value["metadata"]?["annotations"]?["k8s.v1.cni.cncf.io/resourceName"] == .string("openshift.io/testresource"))
        #expect(value["spec"]?["config"] == .string(nad.config))
    }

    @Test(arguments: [
        ("{}", "{}"),
        ("[ ]", "[]"),
        (#"{"a":[1, {"b" : null}],"c":{}}"#, "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}"),
        (#" "x\"y" "#, #""x\"y""#),
    ])
    func indentLikeGo(input: String, output: String) throws {
        #expect(try GoJSON.indent(input, indent: "  ") == output)
    }

    @Test(arguments: ["{", #"{"a" 1}"#, "[1,]", "{} {}", "tru"])
    func indentRejectsInvalidJSON(_ input: String) {
        #expect(throws: GoJSON.SyntaxError.self) { try GoJSON.indent(input, indent: "  ") }
    }

    @Test func goEscaping() {
        #expect(GoJSON.quote("a<b>&\"\\\n\u{01}") == #""a\u003cb\u003e\u0026\"\\\n\u0001""#)
    }
}
