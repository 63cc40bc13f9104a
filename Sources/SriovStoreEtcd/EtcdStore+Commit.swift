import SriovStore
import SriovSync

/// A transaction waiting for its turn on etcd, then for its outcome.
final class EtcdPendingCommit: PendingCommit {
    private enum Outcome {
        case waiting([CheckedContinuation<Revision, any Error>])
        case done(Result<Revision, any Error>)
    }

    let transaction: Transaction
    private let outcome = Locked(Outcome.waiting([]))

    init(_ transaction: Transaction) { self.transaction = transaction }

    /// etcd assigns the revision when the transaction commits.
    var revision: Revision? {
        outcome.withLock { o in
            if case .done(.success(let r)) = o { return r }
            return nil
        }
    }

    func wait() async throws -> Revision {
        try await withCheckedThrowingContinuation { c in
            let ready: Result<Revision, any Error>? = outcome.withLock { o in
                switch o {
                case .waiting(var list):
                    list.append(c)
                    o = .waiting(list)
                    return nil
                case .done(let r):
                    return r
                }
            }
            if let ready { c.resume(with: ready) }
        }
    }

    func finish(_ result: Result<Revision, any Error>) {
        let waiters: [CheckedContinuation<Revision, any Error>] = outcome.withLock { o in
            guard case .waiting(let list) = o else { return [] }
            o = .done(result)
            return list
        }
        for w in waiters { w.resume(with: result) }
    }
}

/// Sends transactions to etcd one at a time in submission order.
final class CommitQueue: Sendable {
    private let stream: AsyncStream<EtcdPendingCommit>
    private let input: AsyncStream<EtcdPendingCommit>.Continuation
    private let task = Locked<Task<Void, Never>?>(nil)

    init() {
        (stream, input) = AsyncStream.makeStream()
    }

    /// Starts the sender. The store is held weakly: the queue never keeps
    /// a store alive.
    func start(_ store: EtcdStore) {
        let stream = self.stream
        let t = Task { [weak store] in
            for await pending in stream {
                guard let store else {
                    pending.finish(.failure(StoreError(.unavailable, "the etcd store is closed")))
                    continue
                }
                do {
                    pending.finish(.success(try await store.apply(pending.transaction)))
                } catch {
                    pending.finish(.failure(error))
                }
            }
        }
        task.withLock { $0 = t }
    }

    func enqueue(_ transaction: Transaction) -> EtcdPendingCommit {
        let pending = EtcdPendingCommit(transaction)
        if case .terminated = input.yield(pending) {
            pending.finish(.failure(StoreError(.unavailable, "the etcd store is closed")))
        }
        return pending
    }

    /// Transactions already queued still run; new ones are refused.
    func close() { input.finish() }
}
