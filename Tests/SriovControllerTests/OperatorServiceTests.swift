import Foundation
import SriovAPI
import SriovGRPC
import SriovProto
import Testing

typealias Op = SriovV1.Operator

/// The Operator service of the real controller binary over mTLS: every RPC
/// and its error codes, optimistic concurrency, paging, watches.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct OperatorServiceTests {
    @Test func policiesApplyGetListDeleteWithTheirErrorCodes() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let op = try c.channel("operator-admin")
        let node = try c.channel("node-worker-0")
        defer { op.close(); node.close() }
        try await node.sendInventory([Objects.inventory("worker-0")])

        // Create: defaulted, generation 1, the node's spec changes.
        var req = SriovV1.ApplyPolicyRequest()
        req.policy = Objects.policy("policy-1")
        let created = try await op.unary(Op.applyPolicy, req)
        #expect(created.created)
        #expect(created.affectedNodes == ["worker-0"])
        #expect(created.policy.spec.priority == 99)
        #expect(created.policy.metadata.namespace == "sriov-network-operator")
        #expect(created.policy.metadata.generation == 1)
        #expect(!created.policy.metadata.uid.isEmpty)
        let rv1 = created.policy.metadata.resourceVersion
        #expect(Int64(rv1) != nil)

        // The same again: unchanged, same version.
        let same = try await op.unary(Op.applyPolicy, req)
        #expect(!same.created && same.affectedNodes.isEmpty && same.policy.metadata.resourceVersion == rv1)

        // A stale expected version: ABORTED naming the current one.
        req.policy.spec.numVfs = 16
        req.expectedResourceVersion = "1"
        let stale = await rpcError { _ = try await op.unary(Op.applyPolicy, req) }
        #expect(stale?.code == .aborted)
        #expect(stale?.message.contains("current resource_version is \(rv1)") == true, "\(String(describing: stale))")
        req.expectedResourceVersion = "0"
        #expect(await code { _ = try await op.unary(Op.applyPolicy, req) } == .aborted)

        // The right version: spec change bumps generation.
        req.expectedResourceVersion = rv1
        let updated = try await op.unary(Op.applyPolicy, req)
        #expect(updated.policy.metadata.generation == 2)
        #expect(Int64(updated.policy.metadata.resourceVersion)! > Int64(rv1)!)

        // Get / NotFound.
        var get = SriovV1.GetRequest()
        get.name = "policy-1"
        let got = try await op.unary(Op.getPolicy, get)
        #expect(got.spec.numVfs == 16 && got.metadata.resourceVersion == updated.policy.metadata.resourceVersion)
        get.name = "nope"
        #expect(await code { _ = try await op.unary(Op.getPolicy, get) } == .notFound)
        get.name = ""
        #expect(await code { _ = try await op.unary(Op.getPolicy, get) } == .invalidArgument)

        // Validation: every field path named.
        var bad = SriovV1.ApplyPolicyRequest()
        bad.policy = Objects.policy("Bad_Name", numVfs: 5000, resource: "not ok!")
        let invalid = await rpcError { _ = try await op.unary(Op.applyPolicy, bad) }
        #expect(invalid?.code == .invalidArgument)
        for path in ["metadata.name", "spec.numVfs", "spec.resourceName"] {
            #expect(invalid?.message.contains(path) == true, "\(path) missing in \(String(describing: invalid?.message))")
        }
        // Policies outside the operator namespace are refused.
        var otherNS = SriovV1.ApplyPolicyRequest()
        otherNS.policy = Objects.policy("elsewhere")
        otherNS.policy.metadata.namespace = "kube-system"
        #expect(await code { _ = try await op.unary(Op.applyPolicy, otherNS) } == .invalidArgument)

        // A conflict names both policies, the node and the PF.
        var clash = SriovV1.ApplyPolicyRequest()
        clash.policy = Objects.policy("policy-2", pfNames: ["ens1f0"], resource: "other")
        let conflict = await rpcError { _ = try await op.unary(Op.applyPolicy, clash) }
        #expect(conflict?.code == .failedPrecondition)
        for word in ["policy-1", "policy-2", "worker-0", "0000:86:00.0"] {
            #expect(conflict?.message.contains(word) == true, "\(word) missing in \(String(describing: conflict?.message))")
        }
        // Nothing of the refused policy was stored.
        get.name = "policy-2"
        #expect(await code { _ = try await op.unary(Op.getPolicy, get) } == .notFound)

        // List.
        let list = try await op.unary(Op.listPolicies, SriovV1.ListRequest())
        #expect(list.items.map(\.metadata.name) == ["policy-1"])
        #expect(!list.resourceVersion.isEmpty && list.nextPageToken.isEmpty)

        // Delete: stale version, "0", then for real; the node's spec changes back.
        var del = SriovV1.DeleteRequest()
        del.name = "policy-1"
        del.expectedResourceVersion = rv1
        #expect(await code { _ = try await op.unary(Op.deletePolicy, del) } == .aborted)
        del.expectedResourceVersion = "0"
        #expect(await code { _ = try await op.unary(Op.deletePolicy, del) } == .invalidArgument)
        del.expectedResourceVersion = ""
        let deleted = try await op.unary(Op.deletePolicy, del)
        #expect(deleted.affectedNodes == ["worker-0"])
        #expect(await code { _ = try await op.unary(Op.deletePolicy, del) } == .notFound)
        var getNode = SriovV1.GetRequest()
        getNode.name = "worker-0"
        let state = try await op.unary(Op.getNodeState, getNode)
        #expect(state.spec.interfaces.isEmpty)
        #expect(state.metadata.generation == 4)
    }

    @Test func networksRenderAttachmentDefinitionsAndDryRunStoresNothing() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let op = try c.channel("operator-admin")
        let view = try c.channel("viewer-view")
        let node = try c.channel("node-worker-1")
        defer { op.close(); view.close(); node.close() }
        try await node.sendInventory([Objects.inventory("worker-1")])

        var apply = SriovV1.ApplyNetworkRequest()
        apply.network = Objects.network("net-a", vlan: 100)
        let created = try await op.unary(Op.applyNetwork, apply)
        #expect(created.created && created.network.metadata.namespace == "default")
        var get = SriovV1.GetRequest()
        get.name = "net-a"
        #expect(try await view.unary(Op.getNetwork, get).spec.vlan == 100)
        #expect(try await view.unary(Op.listNetworks, SriovV1.ListRequest()).items.count == 1)
        var badNet = SriovV1.ApplyNetworkRequest()
        badNet.network = Objects.network("net-b")
        badNet.network.spec.vlan = 5000
        #expect(await code { _ = try await op.unary(Op.applyNetwork, badNet) } == .invalidArgument)

        // The rendered NAD and the device plugin config are listed for the mirror.
        var dry = SriovV1.DryRunPolicyRequest()
        dry.policy = Objects.policy("candidate", numVfs: 4)
        let result = try await view.unary(Op.dryRunPolicy, dry)
        #expect(result.validationErrors.isEmpty)
        #expect(result.changes.map(\.nodeName) == ["worker-1"])
        #expect(result.changes.first?.interfaces.first?.after.numVfs == 4)
        dry.policy.spec.numVfs = -1
        #expect(!(try await view.unary(Op.dryRunPolicy, dry)).validationErrors.isEmpty)
        get.name = "candidate"
        #expect(await code { _ = try await view.unary(Op.getPolicy, get) } == .notFound)

        let rendered = try await view.unary(Op.listRendered, SriovV1.ListRequest())
        let nad = try #require(rendered.items.first { $0.kind == "NetworkAttachmentDefinition" })
        #expect(nad.name == "net-a" && nad.namespace == "default" && nad.source == "default/net-a")
        #expect(nad.json.contains("\"vlan\\\": 100") || nad.json.contains("vlan"), "\(nad.json)")
        #expect(nad.json.contains("openshift.io/intelnics"))
        #expect(rendered.items.contains { $0.kind == "DevicePluginConfig" && $0.name == "worker-1" })

        var del = SriovV1.DeleteRequest()
        del.name = "net-a"
        _ = try await op.unary(Op.deleteNetwork, del)
        let after = try await view.unary(Op.listRendered, SriovV1.ListRequest())
        #expect(!after.items.contains { $0.kind == "NetworkAttachmentDefinition" })
        #expect(await code { _ = try await op.unary(Op.deleteNetwork, del) } == .notFound)

        // A decommissioned node's state can be deleted.
        var delNode = SriovV1.DeleteRequest()
        delNode.name = "worker-1"
        _ = try await op.unary(Op.deleteNodeState, delNode)
        get.name = "worker-1"
        #expect(await code { _ = try await view.unary(Op.getNodeState, get) } == .notFound)
        #expect(await code { _ = try await op.unary(Op.deleteNodeState, delNode) } == .notFound)
    }

    @Test func serverInfoNamesTheReleaseTheStoreAndTheCaller() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let op = try c.channel("operator-admin")
        let view = try c.channel("viewer-view")
        defer { op.close(); view.close() }
        var apply = SriovV1.ApplyNetworkRequest()
        apply.network = Objects.network("net-info")
        let written = try await op.unary(Op.applyNetwork, apply)

        let before = Int64(Date().timeIntervalSince1970)
        let info = try await op.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest())
        #expect(info.version == SriovRelease.version && info.apiVersion == "sriovnetwork.openshift.io/v1")
        #expect(info.store == "sqlite" && info.leader && info.replica.isEmpty)
        // The store's revision, at least that of the write just made.
        #expect((Int64(info.resourceVersion) ?? 0) >= (Int64(written.network.metadata.resourceVersion) ?? .max), "\(info.resourceVersion)")
        #expect(info.startedAt.seconds > 0 && info.startedAt.seconds <= before)
        #expect(info.callerIdentity == "spiffe://sriov.local/operator/admin" && info.callerRole == "operator")

        let seen = try await view.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest())
        #expect(seen.callerIdentity == "spiffe://sriov.local/viewer/view" && seen.callerRole == "viewer")
        #expect(seen.startedAt == info.startedAt)
    }

    @Test func nodeStatesNotReportedForTheGCThresholdAreDeletedUnlessTheirAgentIsConnected() async throws {
        let c = try ControllerProcess(arguments: ["--last-seen-refresh", "1", "--node-state-gc-after", "3"])
        try await c.start()
        let op = try c.channel("operator-admin")
        let gone = try c.channel("node-worker-0"), watching = try c.channel("node-worker-1")
        defer { op.close(); gone.close(); watching.close() }
        try await gone.sendInventory([Objects.inventory("worker-0")])
        try await watching.sendInventory([Objects.inventory("worker-1")])
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("gc")
        _ = try await op.unary(Op.applyPolicy, apply)

        // worker-1's agent keeps its config stream open (and reports
        // nothing); worker-0's agent is gone.
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = "worker-1"
        try await watching.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(30)) { stream in
            var it = stream.makeAsyncIterator()
            _ = try #require(try await it.next())
            var collected = false
            for _ in 0..<200 where !collected {
                try await Task.sleep(for: .milliseconds(50))
                collected = c.log.contains("garbage-collected the node state")
            }
            #expect(collected, "\(c.log.suffix(2000))")
            var get = SriovV1.GetRequest()
            get.name = "worker-0"
            let missing = await rpcError { _ = try await op.unary(Op.getNodeState, get) }
            #expect(missing?.code == .notFound, "\(String(describing: missing))")
            get.name = "worker-1"
            let kept = try await op.unary(Op.getNodeState, get)
            #expect(kept.metadata.name == "worker-1")
        }
        // Its device-plugin config went with it; the log names the node.
        let rendered = try await op.unary(Op.listRendered, SriovV1.ListRequest())
        #expect(!rendered.items.contains { $0.name.contains("worker-0") }, "\(rendered.items.map(\.name))")
        let lines = c.log.split(separator: "\n").filter { $0.contains("garbage-collected") }
        #expect(lines.count == 1 && lines[0].contains("worker-0"), "\(lines)")
        // A collected node's agent that reports again recreates it.
        try await gone.sendInventory([Objects.inventory("worker-0", sequence: 2)])
        var get = SriovV1.GetRequest()
        get.name = "worker-0"
        let back = try await op.unary(Op.getNodeState, get)
        #expect(back.metadata.generation >= 1)
    }

    @Test func aShutdownEndsOpenWatchesWithUnavailable() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let view = try c.channel("viewer-view")
        defer { view.close() }
        let ended = Task {
            await rpcError {
                try await view.serverStreaming(Op.watchNodeStates, SriovV1.WatchRequest(), timeout: .seconds(60)) { stream in
                    for try await _ in stream {}
                }
            }
        }
        // The stream is open once the controller has sent its BOOKMARK.
        try await view.serverStreaming(Op.watchNodeStates, SriovV1.WatchRequest(), timeout: .seconds(10)) { stream in
            var it = stream.makeAsyncIterator()
            let bookmark = try #require(try await it.next())
            #expect(bookmark.type == .bookmark)
        }
        try await Task.sleep(for: .milliseconds(200))
        let status = c.stop(signal: SIGTERM)
        let error = await ended.value
        #expect(error?.code == .unavailable && error?.message.contains("shutting down") == true, "\(String(describing: error))")
        #expect(status == 0)
        #expect(c.log.contains("server stopped"))
    }

    @Test func listsArePagedAtOneRevision() async throws {
        let c = try ControllerProcess()
        try await c.start()
        let op = try c.channel("operator-admin")
        defer { op.close() }
        for i in 0..<25 {
            var a = SriovV1.ApplyNetworkRequest()
            a.network = Objects.network(String(format: "net-%02d", i))
            a.network.metadata.labels = ["team": i % 2 == 0 ? "even" : "odd"]
            _ = try await op.unary(Op.applyNetwork, a)
        }
        var req = SriovV1.ListRequest()
        req.pageSize = 10
        let first = try await op.unary(Op.listNetworks, req)
        #expect(first.items.count == 10 && !first.nextPageToken.isEmpty)
        // Changes after the first page do not show in later pages.
        var change = SriovV1.ApplyNetworkRequest()
        change.network = Objects.network("net-15", vlan: 7)
        _ = try await op.unary(Op.applyNetwork, change)
        var del = SriovV1.DeleteRequest()
        del.name = "net-16"
        _ = try await op.unary(Op.deleteNetwork, del)
        req.pageToken = first.nextPageToken
        let second = try await op.unary(Op.listNetworks, req)
        #expect(second.resourceVersion == first.resourceVersion)
        #expect(second.items.map(\.metadata.name) == (10..<20).map { String(format: "net-%02d", $0) })
        #expect(second.items.first { $0.metadata.name == "net-15" }?.spec.vlan == 0)
        req.pageToken = second.nextPageToken
        let third = try await op.unary(Op.listNetworks, req)
        #expect(third.items.count == 5 && third.nextPageToken.isEmpty)

        // A selector filters across pages.
        var selected = SriovV1.ListRequest()
        selected.labelSelector = "team=odd"
        selected.pageSize = 5
        var names: [String] = []
        repeat {
            let page = try await op.unary(Op.listNetworks, selected)
            names += page.items.map(\.metadata.name)
            selected.pageToken = page.nextPageToken
        } while !selected.pageToken.isEmpty
        // net-01, net-03, ..., net-23, less net-15 whose apply above replaced its labels.
        #expect(names.count == 11)

        var badToken = SriovV1.ListRequest()
        badToken.pageToken = "zz"
        #expect(await code { _ = try await op.unary(Op.listNetworks, badToken) } == .invalidArgument)
        var badSize = SriovV1.ListRequest()
        badSize.pageSize = 5000
        #expect(await code { _ = try await op.unary(Op.listNetworks, badSize) } == .invalidArgument)
        var badSelector = SriovV1.ListRequest()
        badSelector.labelSelector = "a=b,,"
        #expect(await code { _ = try await op.unary(Op.listNetworks, badSelector) } == .invalidArgument)
    }

    @Test func watchesListThenFollowAndResumeOrSayOutOfRange() async throws {
        let c = try ControllerProcess(arguments: ["--history-revisions", "8"])
        try await c.start()
        let op = try c.channel("operator-admin")
        let view = try c.channel("viewer-view")
        let node0 = try c.channel("node-worker-0")
        defer { op.close(); view.close(); node0.close() }
        try await node0.sendInventory([Objects.inventory("worker-0")])

        // ADDED for current objects, a BOOKMARK, then changes.
        let (bookmark, modified) = try await view.serverStreaming(Op.watchNodeStates, SriovV1.WatchRequest(), timeout: .seconds(20)) { stream in
            var it = stream.makeAsyncIterator()
            let added = try #require(try await it.next())
            #expect(added.type == .added && added.nodeState.metadata.name == "worker-0")
            let bookmark = try #require(try await it.next())
            #expect(bookmark.type == .bookmark)
            var a = SriovV1.ApplyPolicyRequest()
            a.policy = Objects.policy("p1")
            _ = try await op.unary(Op.applyPolicy, a)
            let modified = try #require(try await it.next())
            return (bookmark, modified)
        }
        #expect(modified.type == .modified && modified.nodeState.spec.interfaces.count == 1)
        #expect(Int64(modified.resourceVersion)! > Int64(bookmark.resourceVersion)!)

        // Resume after the bookmark: the same change again, no ADDED replay.
        var resume = SriovV1.WatchRequest()
        resume.resumeFromResourceVersion = bookmark.resourceVersion
        let replayed = try await view.serverStreaming(Op.watchNodeStates, resume, timeout: .seconds(20)) { stream in
            var it = stream.makeAsyncIterator()
            let first = try #require(try await it.next())
            #expect(first.type == .bookmark)
            return try #require(try await it.next())
        }
        #expect(replayed.type == .modified && replayed.resourceVersion == modified.resourceVersion)

        // Enough writes to push the bookmark out of the kept history.
        for i in 0..<20 {
            var n = SriovV1.ApplyNetworkRequest()
            n.network = Objects.network("n\(i)")
            _ = try await op.unary(Op.applyNetwork, n)
        }
        let gone = await rpcError {
            try await view.serverStreaming(Op.watchNodeStates, resume, timeout: .seconds(20)) { stream in
                for try await _ in stream {}
            }
        }
        #expect(gone?.code == .outOfRange, "\(String(describing: gone))")
        var future = SriovV1.WatchRequest()
        future.resumeFromResourceVersion = "999999"
        #expect(await code { try await view.serverStreaming(Op.watchNodeStates, future, timeout: .seconds(5)) { for try await _ in $0 {} } } == .outOfRange)
    }
}
