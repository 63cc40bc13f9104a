@testable import SriovGRPC
import SriovTestSupport
import Testing

/// The event loop's timer heap against a plain sorted-list model.
struct TimerHeapTests {
    @Test(arguments: [1, 2, 3, 4])
    func randomInsertsCancelsAndExpiriesMatchTheModel(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var heap = TimerHeap()
        var model: [(deadline: UInt64, id: UInt64)] = []
        let fired = Box()
        var now: UInt64 = 0
        for _ in 0..<3000 {
            switch rng.next() % 4 {
            case 0, 1:
                let deadline = now + rng.next() % 1000
                var id: UInt64 = 0
                id = heap.insert(deadline: deadline) { [fired] in fired.ids.append(id) }
                model.append((deadline, id))
            case 2 where !model.isEmpty:
                // Cancel a pending timer, or one already gone (ignored).
                let victim = model.remove(at: Int(rng.next() % UInt64(model.count)))
                heap.cancel(victim.id)
                heap.cancel(victim.id)
            default:
                now += rng.next() % 300
                fired.ids.removeAll()
                for action in heap.takeDue(now: now) { action() }
                let due = model.filter { $0.deadline <= now }.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }
                model.removeAll { $0.deadline <= now }
                // Same set, in deadline order (ties may come in any order).
                #expect(Set(fired.ids) == Set(due.map(\.id)))
                #expect(fired.ids.count == due.count)
                let deadlines = fired.ids.map { id in due.first { $0.id == id }!.deadline }
                #expect(deadlines == deadlines.sorted())
            }
            #expect(heap.count == model.count)
            #expect(heap.nextDeadline == model.map(\.deadline).min())
        }
    }

    @Test func cancellingFreesTheClosureAtOnce() {
        final class Token {}
        weak var weakToken: Token?
        var heap = TimerHeap()
        do {
            let token = Token()
            weakToken = token
            let id = heap.insert(deadline: 1_000_000) { _ = token }
            heap.cancel(id)
        }
        #expect(weakToken == nil)
        #expect(heap.count == 0)
    }

    final class Box { var ids: [UInt64] = [] }
}
