import Foundation
import SriovAPI
import SriovProto
import SriovTestSupport
import Testing
@testable import SriovRender

/// `sriovctl render` on the repository's examples: the library function and
/// the built binary.
struct SriovctlRenderTests {
    static let exampleFiles = ["examples/seed/policy.yaml", "examples/seed/network.yaml",
                               "examples/inventory/nodes.yaml", "examples/inventory/nodestates.yaml"]

    static func decode(_ paths: [String]) throws -> [APIObject] {
        try paths.flatMap { path in
            try CRCodec.decodeObjects(from: String(contentsOfFile: RepoPaths.path(path), encoding: .utf8), source: path)
        }
    }

    /// The built `sriovctl`, next to the test bundle (`swift test` builds every product).
    static func sriovctl() throws -> String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("sriovctl").path
        let candidates = [beside, RepoPaths.binary("sriovctl")]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
                            "sriovctl not built; run swift build first")
    }

    @Test func examplesRenderTheSeedPolicyOnTheTwoLabelledNodes() throws {
        let output = try OfflineRender.render(Self.decode(Self.exampleFiles)).get()
        #expect(output.warnings.isEmpty)
        guard case .array(let items)? = output.list["items"] else {
            Issue.record("no items")
            return
        }
        #expect(items.map { $0["kind"] } == [
            .string("SriovNetworkNodeState"), .string("SriovNetworkNodeState"), .string("SriovNetworkNodeState"),
            .string("ConfigMap"), .string("NetworkAttachmentDefinition"),
        ])
        let states = try items.prefix(3).map { value -> SriovV1.SriovNetworkNodeState in try CRCodec.decode(value) }
        #expect(states.map(\.metadata.name) == ["worker-0", "worker-1", "worker-2"])
        for state in states.prefix(2) {
            #expect(state.spec.interfaces.count == 1)
            let pf = try #require(state.spec.interfaces.first)
            #expect(pf.pciAddress == "0000:86:00.0")
            #expect(pf.name == "ens785f0")
            #expect(pf.numVfs == 4)
            #expect(pf.mtu == 1500)
            #expect(pf.vfGroups.map(\.vfRange) == ["0-3"])
            #expect(pf.vfGroups.map(\.resourceName) == ["intel_nics_1"])
            #expect(pf.vfGroups.map(\.deviceType) == ["vfio-pci"])
            #expect(!state.status.interfaces.isEmpty)
        }
        #expect(states[2].spec.interfaces.isEmpty)
        let data = try #require(items[3]["data"])
        #expect(data["worker-0"] == .string(#"{"resourceList":[{"resourceName":"intel_nics_1","selectors":{"vendors":["8086"],"devices":["154c"],"drivers":["vfio-pci"],"rootDevices":["0000:86:00.0"],"IsRdma":false,"NeedVhostNet":false},"SelectorObj":null}]}"#))
        #expect(data["worker-2"] == .string(#"{"resourceList":null}"#))
        #expect(items[4]["metadata"]?["namespace"] == .string("example-namespace"))
        #expect(items[4]["metadata"]?["annotations"]?["k8s.v1.cni.cncf.io/resourceName"] == .string("openshift.io/intel_nics_1"))
    }

    @Test(arguments: [1, 7, 4096, 1 << 16])
    func theListWrittenItemByItemIsTheWholeListsTextInYAMLAndJSON(chunkSize: Int) throws {
        let output = try OfflineRender.render(Self.decode(Self.exampleFiles)).get()
        var chunks: [String] = []
        output.writeYAML(chunkSize: chunkSize) { chunks.append($0) }
        #expect(chunks.joined() == output.list.yamlString())
        #expect(chunks.dropLast().allSatisfy { $0.utf8.count >= chunkSize })
        for indent in [nil, 0, 4] as [Int?] {
            var json: [String] = []
            output.writeJSON(indent: indent, chunkSize: chunkSize) { json.append($0) }
            #expect(json.joined() == output.list.jsonString(indent: indent), "indent \(String(describing: indent))")
        }
        #expect(output.itemCount >= 4)
        // An empty List too.
        var empty = ""
        CRValue.writeYAMLList(count: 0, item: { _ in .null }, chunkSize: chunkSize) { empty += $0 }
        #expect(empty == CRCodec.list([]).yamlString())
        var emptyJSON = ""
        CRValue.writeJSONList(count: 0, item: { _ in .null }, indent: 4, chunkSize: chunkSize) { emptyJSON += $0 }
        #expect(emptyJSON == CRCodec.list([]).jsonString(indent: 4))
    }

    @Test func nodeStateWithoutANodeIsAWarning() throws {
        let objects = try Self.decode(["examples/seed/policy.yaml", "examples/inventory/nodestates.yaml"])
        let output = try OfflineRender.render(objects).get()
        #expect(output.warnings.count == 3)
        #expect(output.warnings.first?.contains("worker-0") == true)
    }

    @Test func binaryPrintsTheSameListAsYAMLAndJSON() throws {
        let expected = try OfflineRender.render(Self.decode(Self.exampleFiles)).get().list
        let yaml = try TestProcess.run(try Self.sriovctl(), [
            "render", "-f", "examples/seed/policy.yaml", "-f", "examples/seed/network.yaml", "-f", "examples/inventory",
        ])
        #expect(yaml.status == 0, "\(yaml.output)")
        #expect(yaml.stderr.isEmpty)
        #expect(try CRValue.parseDocument(yaml.stdout, source: "stdout") == expected)
        // Written item by item, it is the same text as the whole List's.
        #expect(yaml.stdout == expected.yamlString())
        let json = try TestProcess.run(try Self.sriovctl(), [
            "render", "-o", "json", "-f", "examples/seed/policy.yaml", "-f", "examples/seed/network.yaml",
            "-f", "examples/inventory/nodes.yaml", "-f", "examples/inventory/nodestates.yaml",
        ])
        #expect(json.status == 0, "\(json.output)")
        #expect(json.stdout == expected.jsonString(indent: 4) + "\n")
    }

    static func writeTemporary(_ files: [String: String]) throws -> URL {
        let dir = try RepoPaths.temporaryDirectory("sriovctl-render")
        for (name, text) in files {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    static func policyYAML(_ name: String, pfName: String, numVfs: Int = 8, resourceName: String? = nil) -> String {
        """
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata:
          name: \(name)
          namespace: sriov-network-operator
        spec:
          resourceName: \(resourceName ?? name.replacingOccurrences(of: "-", with: "_"))
          nodeSelector:
            feature.node.kubernetes.io/sriov-capable: "true"
          numVfs: \(numVfs)
          nicSelector:
            pfNames: ["\(pfName)"]
        """
    }

    @Test func conflictsFailWithNothingOnStdout() throws {
        let dir = try Self.writeTemporary([
            "a.yaml": Self.policyYAML("part-a", pfName: "ens785f0#0-3"),
            "b.yaml": Self.policyYAML("part-b", pfName: "ens785f0#2-5"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try TestProcess.run(try Self.sriovctl(), ["render", "-f", dir.path, "-f", "examples/inventory"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("VFRangeOverlap"))
        #expect(result.stderr.contains("\"part-a\"") && result.stderr.contains("\"part-b\""))
        #expect(result.stderr.contains("worker-0") && result.stderr.contains("worker-1"))
    }

    @Test func validationErrorsFailWithNothingOnStdout() throws {
        let dir = try Self.writeTemporary([
            "bad.yaml": Self.policyYAML("bad", pfName: "ens785f0", resourceName: "not a valid name!"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try TestProcess.run(try Self.sriovctl(), ["render", "-f", dir.path, "-f", "examples/inventory"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("resourceName"))
    }

    @Test func numVfsAboveTotalVfsFails() throws {
        let dir = try Self.writeTemporary(["big.yaml": Self.policyYAML("big", pfName: "ens2f0np0", numVfs: 32)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try TestProcess.run(try Self.sriovctl(), ["render", "-f", dir.path, "-f", "examples/inventory"])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("spec.numVfs 32 exceeds sriov_totalvfs 16 of 0000:d8:00.0"))
    }
}
