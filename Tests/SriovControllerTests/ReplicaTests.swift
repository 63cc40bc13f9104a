import Foundation
import SriovGRPC
import SriovProto
import SriovStore
import SriovStoreEtcd
import SriovSync
import SriovTestSupport
import Testing

/// Several `sriov-controller` replicas on one etcd cluster (three real etcd
/// members on loopback, started and killed by PID): a write through one
/// replica reaches watches and agents on another, acknowledged writes
/// survive a replica's `kill -9`, one etcd member's loss changes nothing,
/// and a lost quorum turns replicas NOT_SERVING until it returns.
@Suite(.timeLimit(.minutes(5)), .serialized, .enabled(if: EtcdCluster.available))
struct ReplicaTests {
    /// A replica of the controller on `cluster`.
    /// A replica of the controller on `cluster`. The leader checks every
    /// second that the stored derived objects match its render, so every
    /// scenario here also shows that the check finds nothing to repair when
    /// nothing is broken (it would bump generations if it did).
    static func replica(_ cluster: EtcdCluster, prefix: String, arguments: [String] = []) throws -> ControllerProcess {
        try ControllerProcess.onEtcd(cluster, prefix: prefix, ["--derived-repair-interval", "1"] + arguments)
    }

    static func prefix() -> String { "/sriov-\(UUID().uuidString.prefix(8))/" }

    /// The node's config as the Agent service sends it first on WatchConfig.
    static func currentConfig(_ c: ControllerProcess, node: String) async throws -> SriovV1.NodeConfig {
        let ch = try c.channel("node-\(node)")
        defer { ch.close() }
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = node
        return try await ch.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(10)) { stream in
            var it = stream.makeAsyncIterator()
            return try #require(try await it.next())
        }
    }

    static func health(_ c: ControllerProcess) async -> GrpcHealthV1.HealthCheckResponse.ServingStatus? {
        guard let ch = try? c.channel("operator-admin") else { return nil }
        defer { ch.close() }
        var check = GrpcHealthV1.HealthCheckRequest()
        check.service = "sriov.v1.Operator"
        return try? await ch.unary(GrpcHealthV1.Health.check, check, timeout: .seconds(3)).status
    }

    @Test func writesThroughOneReplicaReachWatchesAndAgentsOnAnother() async throws {
        let cluster = try await EtcdCluster(size: 3)
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix), b = try Self.replica(cluster, prefix: prefix)
        try await a.start()
        try await b.start()
        let opA = try a.channel("operator-admin"), opB = try b.channel("operator-admin")
        let nodeA = try a.channel("node-worker-0"), nodeB = try b.channel("node-worker-0")
        defer { opA.close(); opB.close(); nodeA.close(); nodeB.close() }

        // The agent reports through A and watches its config on B.
        try await nodeA.sendInventory([Objects.inventory("worker-0")])
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = "worker-0"
        try await nodeB.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(60)) { stream in
            var it = stream.makeAsyncIterator()
            let first = try #require(try await it.next())
            #expect(first.generation == 1, "B learned the node A stored: \(first)")

            var apply = SriovV1.ApplyPolicyRequest()
            apply.policy = Objects.policy("p1", numVfs: 4)
            let clock = ContinuousClock()
            let sent = clock.now
            let applied = try await opA.unary(Op.applyPolicy, apply)
            #expect(applied.affectedNodes == ["worker-0"])
            let pushed = try #require(try await it.next())
            // A number, not a threshold: a policy change on A held by an agent on B.
            print("push latency across replicas (apply on A -> config on B, debug build): \(clock.now - sent)")
            #expect(pushed.generation == 2 && pushed.spec.interfaces.first?.numVfs == 4, "\(pushed)")

            // Both replicas answer the same node state, generation and version.
            var get = SriovV1.GetRequest()
            get.name = "worker-0"
            let stateA = try await opA.unary(Op.getNodeState, get)
            let stateB = try await opB.unary(Op.getNodeState, get)
            #expect(stateA == stateB)
            #expect(stateB.metadata.generation == 2)

            // A write through B reaches the same stream too, and A's cache:
            // an apply on A with B's resource version holds.
            apply.policy.spec.numVfs = 6
            apply.expectedResourceVersion = applied.policy.metadata.resourceVersion
            let second = try await opB.unary(Op.applyPolicy, apply)
            let pushed2 = try #require(try await it.next())
            #expect(pushed2.generation == 3 && pushed2.spec.interfaces.first?.numVfs == 6)
            // Give A a moment to see B's write through the watch.
            var againOnA: SriovV1.ApplyPolicyResponse?
            apply.policy.spec.numVfs = 5
            apply.expectedResourceVersion = second.policy.metadata.resourceVersion
            for _ in 0..<50 where againOnA == nil {
                do { againOnA = try await opA.unary(Op.applyPolicy, apply) } catch let e as RPCError where e.code == .aborted {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(againOnA != nil, "A never learned B's write")
            let pushed3 = try #require(try await it.next())
            #expect(pushed3.generation == 4 && pushed3.spec.interfaces.first?.numVfs == 5)
        }
        // Exactly one replica leads, as each says in GetServerInfo.
        var infos: [SriovV1.ServerInfo] = []
        for _ in 0..<200 {
            infos = [try await opA.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest()),
                     try await opB.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest())]
            if infos.contains(where: \.leader) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(infos.filter(\.leader).count == 1, "\(infos.map(\.leader))")
        // The leader's repair has run (every second) and found nothing.
        try await Task.sleep(for: .milliseconds(2500))
        #expect(![a, b].contains { $0.log.contains("repaired derived objects") }, "\(a.log.suffix(1500))\n\(b.log.suffix(1500))")
        #expect(infos.allSatisfy { $0.store == "etcd" && $0.replica.hasPrefix("127.0.0.1:") })
        #expect(infos[0].replica != infos[1].replica)
        // The same generation whichever replica the agent asks.
        let onA = try await Self.currentConfig(a, node: "worker-0")
        let onB = try await Self.currentConfig(b, node: "worker-0")
        #expect(onA == onB)
        // A watch started on B lists what A wrote.
        try await opB.serverStreaming(Op.watchNodeStates, SriovV1.WatchRequest(), timeout: .seconds(10)) { stream in
            var it = stream.makeAsyncIterator()
            let e = try #require(try await it.next())
            #expect(e.nodeState.metadata.name == "worker-0" && e.nodeState.metadata.generation == 4)
        }
    }

    @Test func replicaKilledUnderWriteLoadLosesNoAcknowledgedWrite() async throws {
        let cluster = try await EtcdCluster(size: 3)
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix), b = try Self.replica(cluster, prefix: prefix)
        try await a.start()
        try await b.start()
        let opA = try a.channel("operator-admin")
        let acknowledged = AcknowledgedNetworks()
        let writers = Task { [opA, acknowledged] in
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<4 {
                    group.addTask {
                        for i in 0..<10_000 {
                            if Task.isCancelled { return }
                            var apply = SriovV1.ApplyNetworkRequest()
                            let vlan = Int32(w * 1000 + i % 1000)
                            apply.network = Objects.network("net-\(w)-\(i)", resource: "res-\(vlan)", vlan: vlan)
                            do {
                                _ = try await opA.unary(Op.applyNetwork, apply, timeout: .seconds(5))
                                acknowledged.record("net-\(w)-\(i)", vlan)
                            } catch {
                                return
                            }
                        }
                    }
                }
            }
        }
        let clock = ContinuousClock()
        let loadStart = clock.now
        try await Task.sleep(for: .milliseconds(800))
        let beforeKill = acknowledged.all.count
        let loadTime = clock.now - loadStart
        a.stop(signal: SIGKILL)
        let killedAt = clock.now
        await writers.value
        // B leads within the lease time (5 s) after A's death, whichever led.
        var bLeads = false
        for _ in 0..<300 where !bLeads {
            bLeads = b.log.contains("this replica leads")
            if !bLeads { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(bLeads)
        print("replica B leads \(clock.now - killedAt) after replica A was killed (lease TTL 5 s)")
        opA.close()
        let acked = acknowledged.all
        #expect(acked.count > 0)
        print("acknowledged ApplyNetwork through one replica on 3-member etcd, 4 clients, debug build: \(beforeKill) in \(loadTime)")

        // Every acknowledged write is readable through B, and nothing is half-applied.
        let opB = try b.channel("operator-admin")
        defer { opB.close() }
        var seen: [String: Int32] = [:]
        var list = SriovV1.ListRequest()
        list.pageSize = 1000
        repeat {
            let page = try await opB.unary(Op.listNetworks, list)
            for n in page.items {
                #expect(n.spec.resourceName == "res-\(n.spec.vlan)", "\(n)")
                seen[n.metadata.name] = n.spec.vlan
            }
            list.pageToken = page.nextPageToken
        } while !list.pageToken.isEmpty
        for (name, vlan) in acked { #expect(seen[name] == vlan, "acknowledged \(name) missing after kill -9") }

        // An agent of A moves to B and sees later changes there.
        let nodeB = try b.channel("node-worker-1")
        defer { nodeB.close() }
        try await nodeB.sendInventory([Objects.inventory("worker-1")])
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = "worker-1"
        try await nodeB.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(30)) { stream in
            var it = stream.makeAsyncIterator()
            let first = try #require(try await it.next())
            var apply = SriovV1.ApplyPolicyRequest()
            apply.policy = Objects.policy("after-kill", numVfs: 2)
            _ = try await opB.unary(Op.applyPolicy, apply)
            let next = try #require(try await it.next())
            #expect(next.generation == first.generation + 1 && next.spec.interfaces.first?.numVfs == 2)
        }
    }

    @Test func onlyTheLeaderCollectsStaleNodeStatesEachOnceAndANewLeaderTakesOver() async throws {
        let cluster = try await EtcdCluster(size: 1)
        let prefix = Self.prefix()
        let gc = ["--last-seen-refresh", "1", "--node-state-gc-after", "3"]
        let a = try Self.replica(cluster, prefix: prefix, arguments: gc), b = try Self.replica(cluster, prefix: prefix, arguments: gc)
        try await a.start()
        try await b.start()
        let opA = try a.channel("operator-admin"), opB = try b.channel("operator-admin")
        defer { opA.close(); opB.close() }
        for node in ["worker-0", "worker-1", "worker-2"] {
            let ch = try a.channel("node-\(node)")
            _ = try await ch.sendInventory([Objects.inventory(node)])
            ch.close()
        }
        func remaining(_ op: GRPCChannel) async throws -> [String] {
            try await op.unary(Op.listNodeStates, SriovV1.ListRequest()).items.map(\.metadata.name)
        }
        func collectedLines(_ c: ControllerProcess) -> [Substring] {
            c.log.split(separator: "\n").filter { $0.contains("garbage-collected the node state") }
        }
        var left: [String] = []
        #expect(try await eventually(.seconds(15)) { left = try await remaining(opB); return left.isEmpty }, "\(left)")
        // Each node collected once, by the leader alone.
        let infoA = try await opA.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest())
        let (leader, follower) = infoA.leader ? (a, b) : (b, a)
        #expect(collectedLines(leader).count == 3, "\(collectedLines(leader))")
        #expect(collectedLines(follower).isEmpty, "\(collectedLines(follower))")

        // The leader dies; the other replica leads within the lease time and
        // collects a node seen after that.
        leader.stop(signal: SIGKILL)
        let survivor = try follower.channel("operator-admin")
        defer { survivor.close() }
        #expect(try await eventually(.seconds(15)) {
            try await survivor.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest()).leader
        })
        let late = try follower.channel("node-worker-1")
        _ = try await late.sendInventory([Objects.inventory("worker-1", sequence: 2)])
        late.close()
        #expect(try await remaining(survivor) == ["worker-1"])
        #expect(try await eventually(.seconds(15)) { left = try await remaining(survivor); return left.isEmpty }, "\(left)")
        #expect(collectedLines(follower).count == 1 && collectedLines(follower)[0].contains("worker-1"), "\(collectedLines(follower))")
    }

    @Test func aChangeLargerThanOneEtcdTransactionIsWrittenInParts() async throws {
        // --etcd-max-txn-ops 2: a policy over three nodes writes the policy,
        // three node states and three device-plugin configs in five parts
        // (the store refuses any larger transaction itself).
        let cluster = try await EtcdCluster(size: 1)
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix, arguments: ["--etcd-max-txn-ops", "2"])
        try await a.start()
        let op = try a.channel("operator-admin")
        defer { op.close() }
        for node in ["worker-0", "worker-1", "worker-2"] {
            let ch = try a.channel("node-\(node)")
            _ = try await ch.sendInventory([Objects.inventory(node)])
            ch.close()
        }
        let agent = try a.channel("node-worker-2")
        defer { agent.close() }
        var req = SriovV1.WatchConfigRequest()
        req.nodeName = "worker-2"
        try await agent.serverStreaming(AgentRPC.watchConfig, req, timeout: .seconds(30)) { stream in
            var it = stream.makeAsyncIterator()
            let first = try #require(try await it.next())
            var apply = SriovV1.ApplyPolicyRequest()
            apply.policy = Objects.policy("wide", numVfs: 6)
            let applied = try await op.unary(Op.applyPolicy, apply)
            #expect(applied.affectedNodes.sorted() == ["worker-0", "worker-1", "worker-2"])
            // The agent of the last node (in the last parts) gets its push.
            let pushed = try #require(try await it.next())
            #expect(pushed.generation == first.generation + 1 && pushed.spec.interfaces.first?.numVfs == 6)
        }
        let states = try await op.unary(Op.listNodeStates, SriovV1.ListRequest()).items
        #expect(states.count == 3 && states.allSatisfy { $0.spec.interfaces.first?.numVfs == 6 }, "\(states.map(\.spec))")
        let rendered = try await op.unary(Op.listRendered, SriovV1.ListRequest()).items
        #expect(rendered.filter { $0.json.contains("intelnics") }.count == 3, "\(rendered.map(\.name))")
        // The leader's repair (every second) finds nothing to write.
        try await Task.sleep(for: .milliseconds(2500))
        #expect(!a.log.contains("repaired derived objects"), "\(a.log.suffix(1500))")
        let after = try await op.unary(Op.listNodeStates, SriovV1.ListRequest()).items
        #expect(after.map(\.metadata.generation) == states.map(\.metadata.generation))
        // A derived object lost behind the controller's back (as when a
        // replica dies between the parts of a split commit) is written again
        // by the leader's next check.
        var options = EtcdStore.Options(endpoints: cluster.endpoints)
        options.prefix = prefix
        let direct = try await EtcdStore(options: options)
        defer { direct.close() }
        let key = "/rendered/dp/worker-1"
        let before = try #require(try await direct.get(key))
        try await direct.commit(Transaction(writes: [.delete(key: key)]))
        #expect(try await eventually(.seconds(10)) { try await direct.get(key) != nil })
        #expect(try await direct.get(key)?.value == before.value)
        #expect(a.log.contains("repaired derived objects"), "\(a.log.suffix(1500))")
        // A restart reads back one consistent state.
        a.stop()
        try await a.start()
        let again = try a.channel("operator-admin")
        defer { again.close() }
        let reread = try await again.unary(Op.listNodeStates, SriovV1.ListRequest()).items
        #expect(reread.map(\.metadata.generation) == states.map(\.metadata.generation))
        #expect(!a.log.contains("wrote what the render changed"), "nothing was left for the restart to write")
    }

    @Test func anAgentProcessWhoseReplicaIsKilledMovesToAnotherAndAppliesLaterChanges() async throws {
        let cluster = try await EtcdCluster(size: 1)
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix), b = try Self.replica(cluster, prefix: prefix)
        try await a.start()
        try await b.start()
        let opB = try b.channel("operator-admin")
        defer { opB.close() }
        let node = try SimulatedNode(nics: "xl710:1")
        let states = try await NodeStateRecorder(opB, node: "worker-0")
        defer { states.cancel() }
        // The real agent, given both replicas, connects to A first.
        let agent = try AgentProcess(node: node, name: "worker-0", controllerPort: a.port, otherPorts: [b.port], certs: a.certs)
        defer { agent.stop() }
        func synced(_ numVfs: Int32, after generation: Int64) async throws -> SriovV1.SriovNetworkNodeState {
            try await states.wait(for: "Succeeded with \(numVfs) VFs after generation \(generation)") {
                $0.metadata.generation > generation && $0.status.syncStatus == "Succeeded"
                    && $0.status.observedGeneration == $0.metadata.generation && $0.spec.interfaces.first?.numVfs == numVfs
            }
        }
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("p1", numVfs: 4)
        _ = try await opB.unary(Op.applyPolicy, apply)
        let first = try await synced(4, after: 0)

        // A dies under the agent; a later change made through B reaches the
        // node through B.
        let clock = ContinuousClock()
        let killedAt = clock.now
        a.stop(signal: SIGKILL)
        apply.policy = Objects.policy("p1", numVfs: 6)
        _ = try await opB.unary(Op.applyPolicy, apply)
        let second = try await synced(6, after: first.metadata.generation)
        print("agent applied a change made through replica B \(clock.now - killedAt) after its replica A was killed")
        #expect(second.metadata.generation == first.metadata.generation + 1)
        #expect(node.virtualFunctions(EndToEndTests.pf0).count == 6)
        #expect(agent.isRunning)
    }

    @Test func aReplicaSpeaksToEtcdOverMutualTLSAndAClientWithoutACertificateIsRefused() async throws {
        let certs = try TestCertificates.shared.get()
        let tls = EtcdCluster.TLSFiles(
            serverCert: certs.path("controller.crt"), serverKey: certs.path("controller.key"), ca: certs.path("ca.crt"),
            clientCert: certs.path("operator-admin.crt"), clientKey: certs.path("operator-admin.key"))
        let cluster = try await EtcdCluster(size: 1, tls: tls)
        #expect(cluster.endpointList.hasPrefix("https://"))
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix, arguments: [
            "--etcd-ca", certs.path("ca.crt"), "--etcd-cert", certs.path("operator-admin.crt"), "--etcd-key", certs.path("operator-admin.key"),
        ])
        try await a.start()
        let op = try a.channel("operator-admin")
        defer { op.close() }
        var apply = SriovV1.ApplyNetworkRequest()
        apply.network = Objects.network("over-tls")
        let created = try await op.unary(Op.applyNetwork, apply)
        #expect(created.created)
        let info = try await op.unary(Op.getServerInfo, SriovV1.GetServerInfoRequest())
        #expect(info.store == "etcd")

        // Without a client certificate etcd refuses the handshake: one line
        // naming etcd, and exit status 1, before anything listens.
        let r = try TestProcess.run(ControllerProcess.binary, [
            "--listen", "127.0.0.1:0", "--tls-cert", certs.path("controller.crt"), "--tls-key", certs.path("controller.key"),
            "--tls-ca", certs.path("ca.crt"), "--store", "etcd", "--etcd-endpoints", cluster.endpointList, "--etcd-prefix", prefix,
            "--etcd-ca", certs.path("ca.crt"),
        ], timeout: 60)
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains("sriov-controller: cannot use etcd at https://127.0.0.1:"), "\(r.output)")
        #expect(!r.stderr.contains("listening on"), "\(r.output)")
    }

    @Test func oneEtcdMemberKilledKeepsEverythingWorking() async throws {
        let cluster = try await EtcdCluster(size: 3)
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix), b = try Self.replica(cluster, prefix: prefix)
        try await a.start()
        try await b.start()
        let opA = try a.channel("operator-admin"), opB = try b.channel("operator-admin")
        defer { opA.close(); opB.close() }
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("before", numVfs: 2)
        _ = try await opA.unary(Op.applyPolicy, apply)
        // Each member in turn is the one lost (one at a time).
        for member in 0..<3 {
            cluster.kill(member)
            apply.policy = Objects.policy("without-m\(member)", numVfs: 3)
            // A write in flight on the killed member's connection may fail
            // with UNAVAILABLE (its fate unknown, so never acknowledged);
            // the client's retry goes through another member.
            var written = false
            var failures: [StatusCode] = []
            for _ in 0..<3 where !written {
                do {
                    _ = try await opA.unary(Op.applyPolicy, apply, timeout: .seconds(20))
                    written = true
                } catch let e as RPCError where e.code == .unavailable {
                    failures.append(e.code)
                }
            }
            #expect(written, "writes fail without member \(member): \(failures)")
            #expect(failures.count <= 1)
            var get = SriovV1.GetRequest()
            get.name = "without-m\(member)"
            var found = false
            for _ in 0..<100 where !found {
                found = (try? await opB.unary(Op.getPolicy, get, timeout: .seconds(5))) != nil
                if !found { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(found, "B does not see the write made without member \(member)")
            let healthA = await Self.health(a), healthB = await Self.health(b)
            #expect(healthA == .serving && healthB == .serving)
            try cluster.start(member)
            try await cluster.waitHealthy()
        }
    }

    @Test func quorumLostMeansNotServingAndNoAcknowledgedWriteThenFullRecovery() async throws {
        let cluster = try await EtcdCluster(size: 3)
        let prefix = Self.prefix()
        let a = try Self.replica(cluster, prefix: prefix)
        try await a.start()
        let op = try a.channel("operator-admin")
        defer { op.close() }
        cluster.kill(1)
        cluster.kill(2)
        var status: GrpcHealthV1.HealthCheckResponse.ServingStatus?
        for _ in 0..<100 {
            status = await Self.health(a)
            if status == .notServing { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status == .notServing)
        var apply = SriovV1.ApplyPolicyRequest()
        apply.policy = Objects.policy("no-quorum", numVfs: 2)
        let refused = await code { _ = try await op.unary(Op.applyPolicy, apply, timeout: .seconds(15)) }
        #expect(refused == .unavailable || refused == .deadlineExceeded, "\(refused)")

        try cluster.start(1)
        try cluster.start(2)
        try await cluster.waitHealthy()
        for _ in 0..<100 {
            status = await Self.health(a)
            if status == .serving { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status == .serving)
        apply.policy = Objects.policy("quorum-back", numVfs: 2)
        var applied = false
        for _ in 0..<50 where !applied {
            applied = (try? await op.unary(Op.applyPolicy, apply, timeout: .seconds(10))) != nil
            if !applied { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(applied)
    }
}

/// Networks whose apply was acknowledged, by name, with their VLAN.
final class AcknowledgedNetworks: Sendable {
    private let state = Locked<[String: Int32]>([:])
    func record(_ name: String, _ vlan: Int32) { state.withLock { $0[name] = vlan } }
    var all: [String: Int32] { state.withLock { $0 } }
}
