import Foundation
import SriovStore
import SriovStoreEtcd
import SriovSync
import SriovTestSupport
import Testing

/// Leader election of controller replicas on a real 3-member etcd cluster:
/// one leader at a time, a new one after the leader stops renewing its
/// lease, and the deposed leader's fenced writes refused by etcd.
@Suite(.timeLimit(.minutes(2)), .serialized, .enabled(if: EtcdCluster.available))
struct LeaderElectionTests {
    final class Leaders: Sendable {
        let current = Locked<[String: Bool]>([:])
        func set(_ name: String, _ leading: Bool) { current.withLock { $0[name] = leading } }
        var leaders: [String] { current.withLock { $0.filter(\.value).map(\.key).sorted() } }
    }

    static func waitFor(_ timeout: Duration, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test func oneLeaderThenANewOneAfterItsLeaseLapsesAndTheOldOneIsFenced() async throws {
        let cluster = try await EtcdCluster(size: 3)
        var options = EtcdStore.Options(endpoints: cluster.endpoints)
        options.prefix = "/election-test"
        let storeA = try await EtcdStore(options: options), storeB = try await EtcdStore(options: options)
        defer { storeB.close() }
        let ttl = Duration.seconds(2)
        let a = EtcdLeaderElection(store: storeA, candidate: "replica-a", ttl: ttl)
        let b = EtcdLeaderElection(store: storeB, candidate: "replica-b", ttl: ttl)
        let leaders = Leaders()
        let runA = Task { await a.run { leaders.set("a", $0) } }
        #expect(try await Self.waitFor(.seconds(10)) { leaders.leaders == ["a"] })
        let runB = Task { await b.run { leaders.set("b", $0) } }
        defer { runB.cancel() }
        try await Task.sleep(for: ttl)
        #expect(leaders.leaders == ["a"], "exactly one leader while A renews")
        let fenceA = try #require(a.fence)
        // Leader-only work under A's fence is accepted while A leads.
        try await storeA.commit(Transaction(compares: [fenceA], writes: [.put(key: "/gc/run", value: Array("a".utf8))]))

        // A dies without revoking its lease (its connections drop at once).
        runA.cancel()
        storeA.close()
        let clock = ContinuousClock()
        let lost = clock.now
        #expect(try await Self.waitFor(.seconds(10)) { leaders.leaders == ["b"] })
        let failover = clock.now - lost
        print("leader failover after the leader stopped: \(failover) (lease TTL \(ttl))")
        // A's fenced write arrives late (through B's connection): refused.
        await #expect { try await storeB.commit(Transaction(compares: [fenceA], writes: [.put(key: "/gc/run", value: Array("stale".utf8))])) }
            throws: { ($0 as? StoreError)?.code == .compareFailed }
        let fenceB = try #require(b.fence)
        try await storeB.commit(Transaction(compares: [fenceB], writes: [.put(key: "/gc/run", value: Array("b".utf8))]))
        #expect(try await storeB.get("/gc/run")?.value == Array("b".utf8))
    }
}
