import Foundation
import SriovAPI
import SriovGRPC
import SriovMirror
import SriovProto
import SriovTestSupport
import Testing

let operatorNamespace = "sriov-network-operator"
let managedBy = MirrorConfiguration.managedBySelector

/// The mirror between the real controller and the test API server.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ClusterMirrorTests {
    /// Three nodes with inventory, a policy selecting them and a network.
    static func seed(_ f: MirrorFixture) async throws {
        for node in ["worker-0", "worker-1", "worker-2"] { try await f.reportInventory(node) }
        try await f.applyPolicy("policy-1")
        try await f.applyNetwork("net-a")
    }

    /// Starts the controller and the API server and seeds the controller.
    static func startSeeded(_ f: MirrorFixture) async throws {
        try await f.startController()
        try await f.startAPIServer()
        try await seed(f)
    }

    /// ``startSeeded(_:)``, then the mirror, until the cluster holds
    /// everything.
    static func startConverged(_ f: MirrorFixture) async throws {
        try await startSeeded(f)
        try f.startMirror()
        try await f.eventually("convergence") { try await converged(f) }
    }

    /// Every node state, the NAD and the ConfigMap are in the cluster as the
    /// controller has them.
    static func converged(_ f: MirrorFixture, nodes: [String] = ["worker-0", "worker-1", "worker-2"]) async throws -> Bool {
        for node in nodes {
            guard let cr = try await f.nodeState(node),
                case .array(let ifaces)? = cr["spec"]?["interfaces"], !ifaces.isEmpty,
                case .array(let inventory)? = cr["status"]?["interfaces"], inventory.count == 2
            else { return false }
        }
        guard let nad = try await f.get(KubePaths.networkAttachment(namespace: "tenant-a", name: "net-a")),
            nad["metadata"]?["annotations"]?["k8s.v1.cni.cncf.io/resourceName"] != nil,
            let cm = try await f.get(KubePaths.configMap(namespace: operatorNamespace, name: "device-plugin-config"))
        else { return false }
        for node in nodes where cm["data"]?[node] == nil { return false }
        return true
    }

    @Test func convergesFromAnEmptyCluster() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startConverged(f)

        let cr = try #require(try await f.nodeState("worker-0"))
        #expect(cr["metadata"]?["labels"]?[MirrorConfiguration.managedByLabel] == .string("sriov-mirror"))
        #expect(cr["spec"]?["interfaces"]?.jsonString().contains("0000:86:00.0") == true)
        // The NAD carries the owner-ref annotation of its SriovNetwork and the label.
        let nad = try #require(try await f.get(KubePaths.networkAttachment(namespace: "tenant-a", name: "net-a")))
        #expect(nad.jsonString().contains("sriovnetwork.openshift.io/owner-ref"), "\(nad.jsonString())")
        #expect(nad["metadata"]?["labels"]?[MirrorConfiguration.managedByLabel] == .string("sriov-mirror"))
        // The device-plugin config is the rendered one, per node.
        let cm = try #require(try await f.get(KubePaths.configMap(namespace: operatorNamespace, name: "device-plugin-config")))
        #expect(cm["data"]?["worker-1"]?.jsonString().contains("resourceList") == true)

        // A status change at the controller reaches the CR's status (and only it).
        try await f.reportStatus("worker-1", syncStatus: "Failed", error: "writing 4 to sriov_numvfs: Device or resource busy")
        try await f.eventually("status of worker-1") {
            try await f.nodeState("worker-1")?["status"]?["syncStatus"] == .string("Failed")
        }
        let w1 = try #require(try await f.nodeState("worker-1"))
        #expect(w1["status"]?["lastSyncError"]?.jsonString().contains("Device or resource busy") == true)
        #expect(w1["status"]?["observedGeneration"] != nil)

        // A deleted network's NAD goes away.
        var del = SriovV1DeleteNetwork(name: "net-a")
        try await del.send(f)
        try await f.eventually("NAD removal") {
            try await f.get(KubePaths.networkAttachment(namespace: "tenant-a", name: "net-a")) == nil
        }
    }

    @Test func aNodeStatusChangeCostsOneRequest() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startConverged(f)
        // Let the initial writes and listings settle, then count.
        try await Task.sleep(for: .milliseconds(300))
        try await f.control("DELETE", "/_test/requests")
        try await f.reportStatus("worker-2", syncStatus: "Succeeded")
        try await f.eventually("status of worker-2") {
            try await f.nodeState("worker-2")?["status"]?["syncStatus"] == .string("Succeeded")
        }
        try await Task.sleep(for: .milliseconds(300))
        let writes = try await f.servedRequests().filter { $0.method != "GET" }
        #expect(writes.count == 1, "\(writes)")
        #expect(writes.first?.path.hasSuffix("/sriovnetworknodestates/worker-2/status") == true, "\(writes)")
    }

    @Test func convergesFromStaleObjectsAndDeletesOnlyItsOwn() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startSeeded(f)
        let nodes = KubePaths.nodeStates(namespace: operatorNamespace)
        // A node the controller no longer has, made by an earlier mirror run.
        try await create(f, nodes, #"{"metadata":{"name":"gone-node","labels":{"app.kubernetes.io/managed-by":"sriov-mirror"}},"spec":{}}"#)
        // Someone else's node state with the same kind: never touched.
        try await create(f, nodes, #"{"metadata":{"name":"foreign"},"spec":{"interfaces":[{"pciAddress":"0000:01:00.0","numVfs":1}]}}"#)
        // A stale copy of worker-0 (wrong spec) from an earlier run.
        try await create(f, nodes, #"{"metadata":{"name":"worker-0","labels":{"app.kubernetes.io/managed-by":"sriov-mirror"}},"spec":{"interfaces":[{"pciAddress":"0000:99:00.0","numVfs":60}]}}"#)
        // A stale NAD of a network that no longer exists.
        try await create(f, "/apis/k8s.cni.cncf.io/v1/namespaces/tenant-b/network-attachment-definitions",
                         #"{"metadata":{"name":"old-net","labels":{"app.kubernetes.io/managed-by":"sriov-mirror"}},"spec":{"config":"{}"}}"#)
        try f.startMirror()
        try await f.eventually("convergence") { try await Self.converged(f) }
        try await f.eventually("stale objects removed") {
            let gone = try await f.nodeState("gone-node") == nil
            let oldNAD = try await f.get(KubePaths.networkAttachment(namespace: "tenant-b", name: "old-net")) == nil
            let w0 = try await f.nodeState("worker-0")?["spec"]?.jsonString().contains("0000:99:00.0") == false
            return gone && oldNAD && w0
        }
        #expect(try await f.nodeState("foreign") != nil)
    }

    @Test func convergesUnderInjected409And429And5xx() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startSeeded(f)
        try await f.control("POST", "/_test/faults", #"{"status":429,"count":3,"retryAfter":1,"method":"PATCH"}"#)
        try await f.control("POST", "/_test/faults", #"{"status":409,"count":2,"method":"PATCH","pathContains":"/status"}"#)
        try await f.control("POST", "/_test/faults", #"{"status":503,"count":2,"method":"PATCH","pathContains":"network-attachment-definitions"}"#)
        try await f.control("POST", "/_test/faults", #"{"status":500,"count":1,"method":"GET"}"#)
        try f.startMirror()
        try await f.eventually("convergence", timeout: .seconds(30)) { try await Self.converged(f) }
        let stats = try #require(f.mirror?.currentStats)
        #expect(stats.failures >= 7, "\(stats)")
    }

    @Test func relistsAfter410AndRepairsDrift() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startConverged(f)
        let listings = try #require(f.mirror?.currentStats.clusterListings)
        // Compaction ends the watch; resuming from its resourceVersion gets 410.
        try await f.control("POST", "/_test/compact")
        try await f.eventually("a new listing after 410") { (f.mirror?.currentStats.clusterListings ?? 0) > listings }
        // Someone deletes a node state and edits another: both are repaired.
        let r = try await f.kube.send("DELETE", KubePaths.nodeState(namespace: operatorNamespace, name: "worker-1"))
        #expect(r.status == 200)
        let patch = try await f.kube.send(
            "PATCH", KubePaths.nodeState(namespace: operatorNamespace, name: "worker-2"), contentType: "application/merge-patch+json",
            body: Array(#"{"spec":{"interfaces":[]}}"#.utf8))
        #expect(patch.status == 200)
        try await f.eventually("repair") { try await Self.converged(f) }

        // The NetworkAttachmentDefinition deleted and the device-plugin
        // ConfigMap emptied by someone else: the mirror's watches of those
        // kinds repair both without another listing (the resync is 5 min).
        let settled = try #require(f.mirror?.currentStats.clusterListings)
        let nadDelete = try await f.kube.send("DELETE", KubePaths.networkAttachment(namespace: "tenant-a", name: "net-a"))
        #expect(nadDelete.status == 200)
        let cmPatch = try await f.kube.send(
            "PATCH", KubePaths.configMap(namespace: operatorNamespace, name: "device-plugin-config"),
            contentType: "application/merge-patch+json", body: Array(#"{"data":{"worker-1":null}}"#.utf8))
        #expect(cmPatch.status == 200)
        try await f.eventually("repair of the NAD and the ConfigMap") { try await Self.converged(f) }
        #expect(f.mirror?.currentStats.clusterListings == settled)
    }

    @Test func convergesAfterTheControllerRestartsMidWatch() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startConverged(f)
        f.controller.stop()
        try await Task.sleep(for: .milliseconds(300))
        try await f.startController()
        try await f.reportStatus("worker-0", syncStatus: "InProgress")
        try await f.applyNetwork("net-b", namespace: "tenant-b", vlan: 10)
        try await f.eventually("changes after the restart") {
            let status = try await f.nodeState("worker-0")?["status"]?["syncStatus"] == .string("InProgress")
            let nad = try await f.get(KubePaths.networkAttachment(namespace: "tenant-b", name: "net-b")) != nil
            return status && nad
        }
    }

    @Test func convergesAfterTheAPIServerRestarts() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await Self.startConverged(f)
        // Down: the controller keeps serving and changing meanwhile.
        f.apiServer.stop()
        try await f.reportStatus("worker-1", syncStatus: "Failed", error: "driver bind failed")
        try await f.applyNetwork("net-c", namespace: "tenant-c")
        try await Task.sleep(for: .milliseconds(500))
        // Back with its store (as with etcd): the mirror catches up.
        try await f.startAPIServer()
        try await f.eventually("catch-up after the restart", timeout: .seconds(30)) {
            let status = try await f.nodeState("worker-1")?["status"]?["syncStatus"] == .string("Failed")
            let nad = try await f.get(KubePaths.networkAttachment(namespace: "tenant-c", name: "net-c")) != nil
            return status && nad
        }
    }

    @Test func syncsDesiredStateBothWaysAndReportsARejectedPolicy() async throws {
        let f = try MirrorFixture()
        defer { f.shutdownNow() }
        try await f.startController()
        try await f.startAPIServer()
        for node in ["worker-0", "worker-1"] { try await f.reportInventory(node) }
        var c = MirrorConfiguration()
        c.syncDesiredState = true
        c.initialBackoff = .milliseconds(50)
        c.maxBackoff = .seconds(1)
        try f.startMirror(c, identity: "operator-mirror")
        let policies = "/apis/sriovnetwork.openshift.io/v1/namespaces/\(operatorNamespace)/sriovnetworknodepolicies"
        // As `kubectl apply` would create them.
        try await create(f, policies, #"{"apiVersion":"sriovnetwork.openshift.io/v1","kind":"SriovNetworkNodePolicy","metadata":{"name":"good"},"spec":{"resourceName":"intelnics","nodeSelector":{"sriov":"true"},"numVfs":4,"nicSelector":{"vendor":"8086","pfNames":["ens1f0"]},"deviceType":"netdevice"}}"#)
        try await create(f, policies, #"{"apiVersion":"sriovnetwork.openshift.io/v1","kind":"SriovNetworkNodePolicy","metadata":{"name":"too-many"},"spec":{"resourceName":"intelnics2","nodeSelector":{"sriov":"true"},"numVfs":5000,"nicSelector":{"vendor":"8086","pfNames":["ens1f1"]}}}"#)
        func condition(_ name: String) async throws -> CRValue? {
            guard case .array(let cs)? = try await f.get(policies + "/" + name)?["status"]?["conditions"] else { return nil }
            return cs.first { $0["type"] == .string("Accepted") }
        }
        try await f.eventually("verdicts on both policies") {
            let good = try await condition("good")
            let bad = try await condition("too-many")
            return good != nil && bad != nil
        }
        #expect(try await condition("good")?["status"] == .string("True"))
        let refused = try #require(try await condition("too-many"))
        #expect(refused["status"] == .string("False"))
        #expect(refused["reason"] == .string("Invalid"))
        #expect(refused["message"]?.jsonString().contains("numVfs") == true, "\(refused.jsonString())")
        let events = try await f.list("/api/v1/namespaces/\(operatorNamespace)/events")
        #expect(events.contains { $0["involvedObject"]?["name"] == .string("too-many") && $0["reason"] == .string("Invalid") },
                "\(events.map { $0.jsonString() })")
        // The accepted policy reached the controller, and its rendering came back as node specs.
        var get = SriovV1.GetRequest()
        get.name = "good"
        let stored = try await f.channel("operator-admin").unary(SriovV1.Operator.getPolicy, get)
        #expect(stored.spec.numVfs == 4)
        try await f.eventually("node specs from the synced policy") {
            try await f.nodeState("worker-0")?["spec"]?.jsonString().contains("intelnics") == true
        }
        // Deleting the CR deletes it at the controller.
        let del = try await f.kube.send("DELETE", policies + "/good")
        #expect(del.status == 200)
        try await f.eventually("deletion at the controller") {
            do {
                _ = try await f.channel("operator-admin").unary(SriovV1.Operator.getPolicy, get)
                return false
            } catch let e as RPCError {
                return e.code == .notFound
            }
        }
    }

    func create(_ f: MirrorFixture, _ collection: String, _ json: String) async throws {
        let r = try await f.kube.send("POST", collection, contentType: "application/json", body: Array(json.utf8))
        guard r.status == 201 else { throw FixtureError("POST \(collection): \(r.status) \(String(decoding: r.body, as: UTF8.self))") }
    }
}

/// DeleteNetwork at the controller.
struct SriovV1DeleteNetwork {
    var name: String
    mutating func send(_ f: MirrorFixture) async throws {
        var req = SriovV1.DeleteRequest()
        req.name = name
        _ = try await f.channel("operator-admin").unary(SriovV1.Operator.deleteNetwork, req)
    }
}
