import SriovSync

/// Ends long-lived streams when the controller shuts down.
///
/// A draining server waits for open calls, and a watch never ends by itself:
/// without this a viewer's `WatchNodeStates` held every SIGTERM for the whole
/// grace period. ``end()`` makes each waiting stream finish with UNAVAILABLE;
/// clients resume after the last resource version they saw, on another
/// replica or after the restart.
public final class StreamShutdown: Sendable {
    private struct State {
        var ended = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<Int> = []
    }

    private let state = Locked(State())

    public init() {}

    /// Whether ``end()`` was called.
    public var hasEnded: Bool { state.withLock { $0.ended } }

    /// Wakes every current and future ``wait()``.
    public func end() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.ended = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    /// Returns once ``end()`` is called, or when the task is cancelled.
    func wait() async {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.ended || s.cancelled.remove(id) != nil { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let w = s.waiters.removeValue(forKey: id) { return w }
                s.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
