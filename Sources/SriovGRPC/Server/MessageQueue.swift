import SriovSync

/// Messages received on a stream, handed from the event loop to a handler
/// task (or, on the client, to the caller). The loop pushes; one consumer
/// pulls with ``next()``. When the consumer falls behind by more than
/// `highWater` bytes, `onDrained` is called once it catches up, so that the
/// loop can reopen the HTTP/2 flow-control window it held back.
///
/// Compressed messages are queued as received and inflated by the consumer,
/// on its own task: inflating up to 4 MiB on the event loop would delay
/// every other connection of that loop.
final class MessageQueue: Sendable {
    /// A message as received.
    struct Entry: Sendable {
        var bytes: [UInt8]
        var compressed: Bool
    }

    private struct State {
        var messages: [Entry] = []
        var head = 0
        var buffered = 0
        var finished = false
        var error: RPCError?
        var waiter: WaiterBox?
        var throttled = false
    }

    /// A parked consumer.
    struct WaiterBox: Sendable {
        let c: CheckedContinuation<Outcome, any Error>
        init(_ c: CheckedContinuation<Outcome, any Error>) { self.c = c }
        func resume(returning m: Entry?) { c.resume(returning: .message(m)) }
        func resume(throwing e: any Error) { c.resume(throwing: e) }
    }

    private let state = Locked(State())
    let highWater: Int
    /// The largest inflated message accepted.
    let maxMessageSize: Int
    private let drainHandler: Locked<@Sendable () -> Void>

    init(highWater: Int, maxMessageSize: Int = 4 * 1024 * 1024, onDrained: @escaping @Sendable () -> Void) {
        self.highWater = highWater
        self.maxMessageSize = maxMessageSize
        self.drainHandler = Locked(onDrained)
    }

    /// Replaces the handler called when a throttled consumer catches up.
    func setOnDrained(_ handler: @escaping @Sendable () -> Void) {
        drainHandler.withLock { $0 = handler }
    }

    private func onDrained() {
        drainHandler.withLock { $0 }()
    }

    /// Loop side: adds a message. Returns false when the consumer is behind
    /// (the caller should hold back flow-control credit).
    @discardableResult
    func push(_ message: [UInt8], compressed: Bool = false) -> Bool {
        let entry = Entry(bytes: message, compressed: compressed)
        let (waiter, accepting): (WaiterBox?, Bool) = state.withLock { s in
            // After a failure nothing more is delivered.
            if s.error != nil { return (nil, true) }
            if let w = s.waiter {
                s.waiter = nil
                return (w, true)
            }
            s.messages.append(entry)
            s.buffered += message.count + 5
            if s.buffered > highWater {
                s.throttled = true
                return (nil, false)
            }
            return (nil, true)
        }
        waiter?.resume(returning: entry)
        return accepting
    }

    /// Loop side: the peer half-closed; `next()` returns nil after the
    /// buffered messages.
    func finish() {
        let waiter = state.withLock { s -> WaiterBox? in
            s.finished = true
            let w = s.messages.count == s.head ? s.waiter : nil
            if w != nil { s.waiter = nil }
            return w
        }
        waiter?.resume(returning: nil)
    }

    /// Fails the stream: `next()` throws `error` (after nothing else).
    func fail(_ error: RPCError) {
        let waiter = state.withLock { s -> WaiterBox? in
            if s.error == nil && !(s.finished && s.head == s.messages.count) { s.error = error }
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume(throwing: error)
    }

    /// The next message (inflated here if it came compressed); nil at the
    /// end of the stream.
    ///
    /// - Throws: the stream's error; RESOURCE_EXHAUSTED or INTERNAL when a
    ///   compressed message inflates past the limit or not at all (later
    ///   calls throw the same).
    func next() async throws -> [UInt8]? {
        try inflated(await nextEntry())
    }

    private func inflated(_ entry: Entry?) throws -> [UInt8]? {
        guard let entry else { return nil }
        guard entry.compressed else { return entry.bytes }
        do {
            return try MessageDeframer.inflate(entry.bytes, limit: maxMessageSize)
        } catch {
            let e = RPCError(code: error.statusCode, message: error.description)
            state.withLock { s in
                s.error = e
                s.messages.removeAll()
                s.head = 0
                s.buffered = 0
            }
            throw e
        }
    }

    private func nextEntry() async throws -> Entry? {
        while true {
            if let ready = try takeReady() { return ready.value }
            // Wait for a push; `.retry` when one slipped in before the waiter
            // was registered.
            let outcome: Outcome = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<Outcome, any Error>) in
                    let immediate: Result<Outcome, any Error>? = state.withLock { s in
                        if s.head < s.messages.count { return .success(.retry) }
                        if let e = s.error { return .failure(e) }
                        if s.finished { return .success(.message(nil)) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        s.waiter = WaiterBox(c)
                        return nil
                    }
                    if let immediate { c.resume(with: immediate) }
                }
            } onCancel: {
                let w = state.withLock { s -> WaiterBox? in
                    let w = s.waiter
                    s.waiter = nil
                    return w
                }
                w?.resume(throwing: CancellationError())
            }
            if case .message(let m) = outcome { return m }
        }
    }

    enum Outcome: Sendable { case message(Entry?), retry }

    private struct Ready { var value: Entry? }

    private func takeReady() throws -> Ready? {
        let (result, drained): (Result<Ready?, RPCError>, Bool) = state.withLock { s in
            if s.head < s.messages.count {
                let m = s.messages[s.head]
                s.head += 1
                s.buffered -= m.bytes.count + 5
                if s.head == s.messages.count {
                    s.messages.removeAll(keepingCapacity: true)
                    s.head = 0
                }
                var drained = false
                if s.throttled && s.buffered <= highWater / 2 {
                    s.throttled = false
                    drained = true
                }
                return (.success(Ready(value: m)), drained)
            }
            if let e = s.error { return (.failure(e), false) }
            if s.finished { return (.success(Ready(value: nil)), false) }
            return (.success(nil), false)
        }
        if drained { onDrained() }
        return try result.get()
    }
}

/// Bounds what a writer may queue ahead of the network: ``reserve(_:)``
/// suspends while more than `highWater` bytes wait to be sent.
final class OutboundGate: Sendable {
    private struct State {
        var pending = 0
        var waiter: CheckedContinuation<Void, any Error>?
        var failure: RPCError?
    }

    private let state = Locked(State())
    let highWater: Int

    init(highWater: Int) { self.highWater = highWater }

    func reserve(_ n: Int) async throws {
        let ready: Bool = try state.withLock { s in
            if let f = s.failure { throw f }
            if s.pending <= highWater {
                s.pending += n
                return true
            }
            return false
        }
        if ready { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let r: Result<Void, any Error>? = state.withLock { s in
                    if let f = s.failure { return .failure(f) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.pending <= highWater { return .success(()) }
                    s.waiter = c
                    return nil
                }
                if let r { c.resume(with: r) }
            }
        } onCancel: {
            let w = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                let w = s.waiter
                s.waiter = nil
                return w
            }
            w?.resume(throwing: CancellationError())
        }
        state.withLock { $0.pending += n }
    }

    /// Loop side: `n` bytes went to the network.
    func release(_ n: Int) {
        let w = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            s.pending -= n
            guard s.pending <= highWater, let w = s.waiter else { return nil }
            s.waiter = nil
            return w
        }
        w?.resume()
    }

    /// The stream ended: writers fail with `error` from now on.
    func fail(_ error: RPCError) {
        let w = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.failure == nil { s.failure = error }
            let w = s.waiter
            s.waiter = nil
            return w
        }
        w?.resume(throwing: error)
    }
}
