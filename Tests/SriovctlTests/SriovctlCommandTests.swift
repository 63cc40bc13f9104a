import Foundation
import SriovAPI
import SriovProto
import SriovTestSupport
import Testing

/// `sriovctl` against the real controller: every command and output format.
@Suite(.timeLimit(.minutes(3)), .serialized)
struct SriovctlCommandTests {
    static let seed = RepoPaths.path("examples/seed")

    /// A controller with three nodes: worker-0 (labelled, two XL710 ports,
    /// the seed policy's 0000:86:00.0 among them), worker-1 (labelled, no
    /// matching NIC), worker-2 (not labelled).
    func seeded() async throws -> CLIController {
        let c = try CLIController()
        try await c.start()
        try await c.reportInventory("worker-0", labels: Inventory.label, pfs: [
            Inventory.xl710("ens1f0", pci: "0000:86:00.0"), Inventory.xl710("ens1f1", pci: "0000:86:00.1"),
        ])
        var e810 = Inventory.xl710("ens1f0", pci: "0000:18:00.0")
        e810.deviceID = "159b"
        e810.driver = "ice"
        try await c.reportInventory("worker-1", labels: Inventory.label, pfs: [e810])
        try await c.reportInventory("worker-2", labels: [:], pfs: [Inventory.xl710("ens1f0", pci: "0000:18:00.0")])
        return c
    }

    @Test func applyPrintsCreatedThenUnchangedThenConfigured() async throws {
        let c = try await seeded()
        let first = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stdout == "sriovnetwork/example-network created\nsriovnetworknodepolicy/policy-1 created\n")
        let again = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        #expect(again.stdout == "sriovnetwork/example-network unchanged\nsriovnetworknodepolicy/policy-1 unchanged\n", "\(again.output)")
        let changed = try String(contentsOfFile: Self.seed + "/policy.yaml", encoding: .utf8).replacingOccurrences(of: "numVfs: 4", with: "numVfs: 6")
        let third = try Sriovctl.run(["apply", "-f", "-"], controller: c, stdin: changed)
        #expect(third.status == 0 && third.stdout == "sriovnetworknodepolicy/policy-1 configured\n", "\(third.output)")
        let states = try Sriovctl.run(["get", "nodestate", "worker-0", "-o", "json"], controller: c)
        #expect(states.stdout.contains("\"numVfs\": 6"), "\(states.output)")
    }

    @Test func applyTakesJSONListsAndMultiDocumentYAML() async throws {
        let c = try await seeded()
        let json = """
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "sriovnetwork.openshift.io/v1", "kind": "SriovNetworkNodePolicy",
               "metadata": {"name": "p-json", "namespace": "sriov-network-operator"},
               "spec": {"resourceName": "r1", "nodeSelector": {"feature.node.kubernetes.io/sriov-capable": "true"},
                        "numVfs": 2, "nicSelector": {"pfNames": ["ens1f1"]}, "priority": 10}}]}
            """
        let r = try Sriovctl.run(["apply", "-f", "-"], controller: c, stdin: json)
        #expect(r.status == 0 && r.stdout == "sriovnetworknodepolicy/p-json created\n", "\(r.output)")
        let yaml = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetwork
            metadata: {name: net-a, namespace: ns-a}
            spec: {resourceName: r1, vlan: 100}
            ---
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetwork
            metadata: {name: net-b, namespace: ns-b}
            spec: {resourceName: r1}
            """
        let m = try Sriovctl.run(["apply", "-f", "-"], controller: c, stdin: yaml)
        #expect(m.stdout == "sriovnetwork/net-a created\nsriovnetwork/net-b created\n", "\(m.output)")
        let nets = try Sriovctl.run(["get", "sn"], controller: c)
        #expect(nets.stdout.contains("ns-a        net-a   r1         100"), "\(nets.output)")
    }

    @Test func serverDryRunShowsNodesPFsAndConflictsAndStoresNothing() async throws {
        let c = try await seeded()
        let dry = try Sriovctl.run(["apply", "-f", Self.seed + "/policy.yaml", "--dry-run=server"], controller: c)
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.stdout.contains("sriovnetworknodepolicy/policy-1 created (server dry run)"))
        #expect(dry.stdout.contains("node worker-0 PF 0000:86:00.0: not configured -> numVfs 4, mtu 1500, groups [intel_nics_1 vfio-pci 0-3 (policy-1)]"), "\(dry.output)")
        let none = try Sriovctl.run(["get", "policies"], controller: c)
        #expect(none.stdout.isEmpty && none.stderr.contains("No resources found"), "\(none.output)")

        _ = try Sriovctl.run(["apply", "-f", Self.seed + "/policy.yaml"], controller: c)
        let rival = try String(contentsOfFile: Self.seed + "/policy.yaml", encoding: .utf8)
            .replacingOccurrences(of: "name: policy-1", with: "name: policy-2")
            .replacingOccurrences(of: "intel_nics_1", with: "intel_nics_2")
        let conflict = try Sriovctl.run(["apply", "-f", "-", "--dry-run=server"], controller: c, stdin: rival)
        #expect(conflict.status == 2, "\(conflict.output)")
        #expect(conflict.stderr.contains("conflict") && conflict.stderr.contains("policy-1") && conflict.stderr.contains("worker-0"), "\(conflict.output)")
        let refused = try Sriovctl.run(["apply", "-f", "-"], controller: c, stdin: rival)
        #expect(refused.status == 2 && refused.stderr.contains("FAILED_PRECONDITION"), "\(refused.output)")
        #expect(refused.stderr.contains("<stdin> (document 0): SriovNetworkNodePolicy \"policy-2\""), "\(refused.output)")
    }

    @Test(arguments: [
        "snnp", "sriovnetworknodepolicies", "sriovnetworknodepolicy", "policy", "policies", "SriovNetworkNodePolicy",
        "sriovnetworknodepolicy.sriovnetwork.openshift.io",
    ])
    func getAcceptsTheNamesKubectlUsersType(_ kind: String) async throws {
        let c = try await seeded()
        _ = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        let r = try Sriovctl.run(["get", kind, "-o", "name"], controller: c)
        #expect(r.status == 0 && r.stdout == "sriovnetworknodepolicy/policy-1\n", "\(r.output)")
        let slash = try Sriovctl.run(["get", "\(kind)/policy-1", "-o", "name"], controller: c)
        #expect(slash.stdout == "sriovnetworknodepolicy/policy-1\n", "\(slash.output)")
    }

    @Test func getPrintsEveryFormat() async throws {
        let c = try await seeded()
        _ = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        try await c.reportStatus("worker-0", "Succeeded", pfs: [
            Inventory.xl710("ens1f0", pci: "0000:86:00.0", numVfs: 4), Inventory.xl710("ens1f1", pci: "0000:86:00.1"),
        ])
        try await c.reportStatus("worker-1", "Succeeded", pfs: [])

        for (args, golden) in [(["get", "policies"], "get-policies.txt"), (["get", "nodestates"], "get-nodestates.txt"), (["get", "networks"], "get-networks.txt")] {
            let r = try Sriovctl.run(args, controller: c)
            #expect(r.status == 0, "\(r.output)")
            let g = try Golden.check(r.stdout, golden)
            #expect(g.matches, "\(golden):\n\(Golden.normalize(r.stdout))\nexpected:\n\(g.expected)")
        }
        let wide = try Sriovctl.run(["get", "nodestates", "-o", "wide"], controller: c)
        #expect(wide.stdout.hasPrefix("NAME       SYNC STATUS   PFS   VFS   GENERATION   OBSERVED   AGE"), "\(wide.output)")
        #expect(wide.stdout.contains("2x8086:1583") && wide.stdout.contains("LAST SYNC ERROR"), "\(wide.output)")
        let wideP = try Sriovctl.run(["get", "snnp", "-o", "wide"], controller: c)
        #expect(wideP.stdout.contains("feature.node.kubernetes.io/sriov-capable=true") && wideP.stdout.contains("8086:1583,rootDevices=0000:86:00.0"), "\(wideP.output)")

        // yaml and json decode back to the objects.
        let yaml = try Sriovctl.run(["get", "policy", "policy-1", "-o", "yaml"], controller: c)
        let objects = try CRCodec.decodeObjects(from: yaml.stdout, source: "get")
        guard case .policy(let p)? = objects.first else { Issue.record("not a policy: \(yaml.output)"); return }
        #expect(p.spec.numVfs == 4 && p.spec.nicSelector.rootDevices == ["0000:86:00.0"] && p.spec.priority == 90)
        let json = try Sriovctl.run(["get", "nodestates", "-o", "json"], controller: c)
        let states = try CRCodec.decodeObjects(from: json.stdout, source: "get")
        #expect(states.map(\.name) == ["worker-0", "worker-1", "worker-2"], "\(json.output)")

        // -l matches the node labels the agents reported.
        let selected = try Sriovctl.run(["get", "snns", "-l", "feature.node.kubernetes.io/sriov-capable=true", "-o", "name"], controller: c)
        #expect(selected.stdout == "sriovnetworknodestate/worker-0\nsriovnetworknodestate/worker-1\n", "\(selected.output)")
        let notSelected = try Sriovctl.run(["get", "snns", "-l", "feature.node.kubernetes.io/sriov-capable!=true", "-o", "name"], controller: c)
        #expect(notSelected.stdout == "sriovnetworknodestate/worker-2\n", "\(notSelected.output)")

        // Rendered objects.
        let nad = try Sriovctl.run(["get", "net-attach-def", "example-network", "-o", "json"], controller: c)
        #expect(nad.stdout.contains("\"kind\": \"NetworkAttachmentDefinition\"") && nad.stdout.contains("openshift.io/intel_nics_1"), "\(nad.output)")
        let nads = try Sriovctl.run(["get", "nad"], controller: c)
        #expect(nads.stdout.contains("example-namespace   example-network   openshift.io/intel_nics_1   example-namespace/example-network   Rendered"), "\(nads.output)")
        let dp = try Sriovctl.run(["get", "dpc", "worker-0"], controller: c)
        #expect(dp.stdout == "NODE       RESOURCES   NAMES\nworker-0   1           intel_nics_1\n", "\(dp.output)")
        let missing = try Sriovctl.run(["get", "policy", "nope"], controller: c)
        #expect(missing.status == 2 && missing.stderr == "error: sriovnetworknodepolicy \"nope\" not found\n", "\(missing.output)")
    }

    @Test func describeShowsPFsGroupsPoliciesAndErrors() async throws {
        let c = try await seeded()
        _ = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        try await c.reportStatus("worker-0", "Failed", error: "0000:86:00.0: writing 4 to sriov_numvfs: Device or resource busy", pfs: [
            Inventory.xl710("ens1f0", pci: "0000:86:00.0", numVfs: 4), Inventory.xl710("ens1f1", pci: "0000:86:00.1"),
        ])
        for (args, golden) in [
            (["describe", "nodestate", "worker-0"], "describe-nodestate.txt"),
            (["describe", "policy", "policy-1"], "describe-policy.txt"),
            (["describe", "network", "example-network"], "describe-network.txt"),
        ] {
            let r = try Sriovctl.run(args, controller: c)
            #expect(r.status == 0, "\(r.output)")
            let g = try Golden.check(r.stdout, golden)
            #expect(g.matches, "\(golden):\n\(Golden.normalize(r.stdout))\nexpected:\n\(g.expected)")
        }
    }

    @Test func deleteByNameAndByFile() async throws {
        let c = try await seeded()
        _ = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        let byName = try Sriovctl.run(["delete", "policy", "policy-1"], controller: c)
        #expect(byName.status == 0 && byName.stdout == "sriovnetworknodepolicy \"policy-1\" deleted\n", "\(byName.output)")
        let again = try Sriovctl.run(["delete", "snnp/policy-1"], controller: c)
        #expect(again.status == 2 && again.stderr.contains("not found"), "\(again.output)")
        let ignored = try Sriovctl.run(["delete", "snnp/policy-1", "--ignore-not-found"], controller: c)
        #expect(ignored.status == 0, "\(ignored.output)")
        let byFile = try Sriovctl.run(["delete", "-f", Self.seed + "/network.yaml"], controller: c)
        #expect(byFile.status == 0 && byFile.stdout == "sriovnetwork \"example-network\" deleted\n", "\(byFile.output)")
        let node = try Sriovctl.run(["delete", "nodestate", "worker-2"], controller: c)
        #expect(node.status == 0, "\(node.output)")
        let left = try Sriovctl.run(["get", "nodestates", "-o", "name"], controller: c)
        #expect(left.stdout == "sriovnetworknodestate/worker-0\nsriovnetworknodestate/worker-1\n", "\(left.output)")
    }

    @Test func waitForSyncSucceedsFailsAndTimesOut() async throws {
        let c = try await seeded()
        _ = try Sriovctl.run(["apply", "-f", Self.seed], controller: c)
        let pending = try Sriovctl.run(["wait", "--for=sync", "--all", "--timeout", "1s"], controller: c)
        #expect(pending.status == 1, "\(pending.output)")
        #expect(pending.stderr.contains("timed out after 1s waiting for sync") && pending.stderr.contains("worker-0: not synced yet (generation 2, observed 0)"), "\(pending.output)")

        let pfs = [Inventory.xl710("ens1f0", pci: "0000:86:00.0", numVfs: 4), Inventory.xl710("ens1f1", pci: "0000:86:00.1")]
        try await c.reportStatus("worker-0", "Failed", error: "0000:86:00.0: writing 4 to sriov_numvfs: Device or resource busy", pfs: pfs)
        let failed = try Sriovctl.run(["wait", "--for=sync", "--all", "--timeout", "10s"], controller: c)
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.stderr == "error: sriovnetworknodestate/worker-0: Failed at generation 2: 0000:86:00.0: writing 4 to sriov_numvfs: Device or resource busy\n", "\(failed.output)")

        // One node, while the others are still pending: a new generation, then
        // a report during the wait ends it.
        let five = try String(contentsOfFile: Self.seed + "/policy.yaml", encoding: .utf8).replacingOccurrences(of: "numVfs: 4", with: "numVfs: 5")
        let applied = try Sriovctl.run(["apply", "-f", "-"], controller: c, stdin: five)
        #expect(applied.stdout == "sriovnetworknodepolicy/policy-1 configured\n", "\(applied.output)")
        // --interval 10m: only the watch can end this wait in time.
        let waiter = try BackgroundSriovctl(["wait", "--for=sync", "nodestate/worker-0", "--timeout", "30s", "--interval", "10m"], controller: c)
        try await Task.sleep(for: .milliseconds(300))
        try await c.reportStatus("worker-0", "Succeeded", pfs: pfs)
        #expect(waiter.waitForExit() == 0, "\(waiter.output)")
        #expect(waiter.output == "sriovnetworknodestate/worker-0 condition met (Succeeded)\n")

        for node in ["worker-1", "worker-2"] { try await c.reportStatus(node, "Succeeded", pfs: []) }
        let all = try Sriovctl.run(["wait", "--for=sync", "--all"], controller: c)
        #expect(all.status == 0 && all.stdout.components(separatedBy: "condition met").count == 4, "\(all.output)")
        let usage = try Sriovctl.run(["wait", "--for=ready", "--all"], controller: c)
        #expect(usage.status == 1 && usage.stderr.contains("the only condition is sync"), "\(usage.output)")
    }

    @Test func watchStreamsChangesAndResumesAfterTheControllerRestarts() async throws {
        // A fixed port, so the restarted controller has the same address.
        let probe = try CLIController()
        try await probe.start()
        let port = probe.port
        probe.stop()
        let c = try CLIController(port: port)
        try await c.start()
        try await c.reportInventory("worker-0", labels: Inventory.label, pfs: [Inventory.xl710("ens1f0", pci: "0000:86:00.0")])
        let watch = try BackgroundSriovctl(["watch", "nodestates", "--timeout", "60s"], controller: c)
        #expect(try await watch.waitFor { $0.contains("ADDED      worker-0") }, "\(watch.output)")
        #expect(watch.output.hasPrefix("EVENT      NAME       SYNC STATUS   PFS   VFS   GENERATION   OBSERVED   AGE\n"), "\(watch.output)")
        try await c.reportStatus("worker-0", "Succeeded", pfs: [Inventory.xl710("ens1f0", pci: "0000:86:00.0")])
        #expect(try await watch.waitFor { $0.contains("MODIFIED   worker-0   Succeeded") }, "\(watch.output)")

        c.stop()
        try await c.start()
        #expect(c.port == port)
        try await c.reportInventory("worker-1", labels: [:], pfs: [])
        #expect(try await watch.waitFor(30) { $0.contains("ADDED      worker-1") }, "\(watch.output)")
        #expect(watch.output.contains("resuming after resource version"), "\(watch.output)")
        // Resumed, not re-listed: worker-0 was added once.
        #expect(watch.output.components(separatedBy: "ADDED      worker-0").count == 2, "\(watch.output)")
        kill(watch.process.processIdentifier, SIGTERM)
        _ = watch.waitForExit()
    }

    @Test func getWatchPrintsJSONEvents() async throws {
        let c = try await seeded()
        let watch = try BackgroundSriovctl(["get", "nodestates", "worker-2", "-w", "-o", "json"], controller: c)
        #expect(try await watch.waitFor { $0.contains("\"type\":\"ADDED\"") }, "\(watch.output)")
        try await c.reportStatus("worker-2", "Succeeded", pfs: [])
        #expect(try await watch.waitFor { $0.contains("\"type\":\"MODIFIED\"") }, "\(watch.output)")
        #expect(!watch.output.contains("worker-0"))
        kill(watch.process.processIdentifier, SIGTERM)
        _ = watch.waitForExit()
    }

    @Test func versionAndCompletion() async throws {
        let c = try await seeded()
        let v = try Sriovctl.run(["version"], controller: c)
        #expect(v.status == 0, "\(v.output)")
        #expect(v.stdout.contains("Client Version: sriovctl ") && v.stdout.contains("Server: \(c.address)"))
        #expect(v.stdout.contains("Server Health: SERVING") && v.stdout.contains("sriov.v1.Operator") && v.stdout.contains("sriov.v1.Agent"), "\(v.output)")
        #expect(v.stdout.contains("Server Version: sriov-controller \(SriovRelease.version) (API sriovnetwork.openshift.io/v1)\n"), "\(v.output)")
        #expect(v.stdout.contains("Server Store: sqlite at revision ") && v.stdout.contains("; leader\n"), "\(v.output)")
        #expect(v.stdout.contains("Authenticated As: spiffe://sriov.local/operator/"), "\(v.output)")
        let json = try Sriovctl.run(["version", "-o", "json"], controller: c)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let server = parsed?["server"] as? [String: Any]
        #expect(json.status == 0 && server?["version"] as? String == SriovRelease.version && server?["store"] as? String == "sqlite", "\(json.output)")
        #expect((server?["caller"] as? [String: Any])?["role"] as? String == "operator", "\(json.output)")
        #expect((parsed?["clientVersion"] as? [String: Any])?["version"] as? String == SriovRelease.version)
        let badOutput = try Sriovctl.run(["version", "-o", "yaml"], controller: c)
        #expect(badOutput.status == 1 && badOutput.stderr.contains("not one of text, json"), "\(badOutput.output)")
        let client = try Sriovctl.run(["version", "--client"])
        #expect(client.status == 0 && !client.stdout.contains("Server"), "\(client.output)")
        for (shell, marker) in [("bash", "-F _sriovctl sriovctl"), ("zsh", "#compdef sriovctl"), ("fish", "complete -c 'sriovctl'")] {
            let r = try Sriovctl.run(["completion", shell])
            #expect(r.status == 0 && r.stdout.contains(marker), "\(shell): \(r.output.prefix(300))")
        }
        let bad = try Sriovctl.run(["completion", "tcsh"])
        #expect(bad.status == 1 && bad.stderr.contains("expected bash, zsh or fish"), "\(bad.output)")
        let help = try Sriovctl.run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("2 the server refused the request") && help.stdout.contains("3 the server is unreachable"), "\(help.output)")
    }
}
