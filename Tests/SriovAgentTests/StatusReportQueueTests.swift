@testable import SriovAgentCore
import SriovGRPC
import SriovProto
import SriovTestSupport
import Testing

/// The order and coalescing of undelivered status reports.
@Suite("StatusReportQueue")
struct StatusReportQueueTests {
    /// `"IP3"`, `"S3"`, `"F3"`: a report's status and generation.
    static func report(_ text: String) -> SriovV1.StatusReport {
        let status: String
        switch text.first {
        case "I": status = SyncStatus.inProgress
        case "S": status = SyncStatus.succeeded
        default: status = SyncStatus.failed
        }
        var r = SriovV1.StatusReport()
        r.nodeName = "n1"
        r.syncStatus = status
        r.generation = Int64(text.drop { !$0.isNumber })!
        if status == SyncStatus.failed { r.lastSyncError = "failed \(r.generation)" }
        return r
    }

    static func text(_ r: SriovV1.StatusReport) -> String {
        let prefix = r.syncStatus == SyncStatus.inProgress ? "IP" : r.syncStatus == SyncStatus.succeeded ? "S" : "F"
        return prefix + String(r.generation)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var enqueued: [String]
        var queued: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a generation's InProgress stays ahead of its final status", enqueued: ["IP1", "S1"], queued: ["IP1", "S1"]),
        Case(name: "a failure stays ahead of the next generation's reports", enqueued: ["IP1", "F1", "IP2", "S2"], queued: ["F1", "IP2", "S2"]),
        Case(name: "a newer generation drops an older InProgress and Succeeded", enqueued: ["IP1", "S1", "IP2"], queued: ["IP2"]),
        Case(name: "a newer failure replaces an older one", enqueued: ["F1", "IP2", "F2"], queued: ["IP2", "F2"]),
        Case(name: "a drift repair while away keeps one report per status, in order", enqueued: ["IP1", "S1", "IP1", "S1"], queued: ["IP1", "S1"]),
        Case(name: "a failed repair after a success keeps both", enqueued: ["IP1", "S1", "IP1", "F1"], queued: ["S1", "IP1", "F1"]),
        Case(name: "a success after a failure of the same generation keeps the failure", enqueued: ["IP1", "F1", "IP1", "S1"], queued: ["F1", "IP1", "S1"]),
        Case(name: "a lower generation (the controller's store replaced) still drops the earlier reports", enqueued: ["IP5", "S5", "IP2"], queued: ["IP2"]),
        Case(name: "a failure survives a lower generation too", enqueued: ["F5", "IP2", "S2"], queued: ["F5", "IP2", "S2"]),
    ]

    @Test("coalescing", arguments: cases)
    func coalescing(_ c: Case) {
        var q = StatusReportQueue()
        for r in c.enqueued { q.enqueue(Self.report(r)) }
        #expect(q.entries.map { Self.text($0.report) } == c.queued)
    }

    @Test("however long the controller is away, at most one report per status is queued")
    func bounded() {
        var q = StatusReportQueue()
        var rng = SplitMix64(seed: 7)
        var generation: Int64 = 5
        for _ in 0..<10_000 {
            generation = max(1, generation + Int64.random(in: -1...2, using: &rng))
            q.enqueue(Self.report(["IP", "S", "F"].randomElement(using: &rng)! + String(generation)))
            #expect(q.entries.count <= 3)
            #expect(Set(q.entries.map(\.report.syncStatus)).count == q.entries.count)
        }
    }

    @Test("delivery removes by identity: a report replaced while in flight is not removed twice")
    func removeByIdentity() throws {
        var q = StatusReportQueue()
        q.enqueue(Self.report("IP1"))
        let inFlight = try #require(q.head)
        q.enqueue(Self.report("S1"))
        q.enqueue(Self.report("IP1"))  // replaces the in-flight one
        q.remove(id: inFlight.id)
        #expect(q.entries.map { Self.text($0.report) } == ["S1", "IP1"])
    }

    @Test("refusals that retrying cannot cure are permanent; the rest are retried", arguments: StatusCode.allCases)
    func permanence(_ code: StatusCode) {
        let permanent: Set<StatusCode> = [.invalidArgument, .failedPrecondition, .permissionDenied, .unauthenticated, .notFound, .alreadyExists, .outOfRange]
        #expect(StatusReportQueue.isPermanent(code) == permanent.contains(code))
    }
}
