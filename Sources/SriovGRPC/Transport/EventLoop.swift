import CSriovShims
import Glibc
import SriovSync

/// Something registered with an event loop's epoll set.
protocol EventLoopSelectable: AnyObject {
    /// Called on the loop thread with the epoll event mask.
    func handleEvents(_ events: UInt32)
}

/// Something that wants one write flush at the end of the current loop
/// iteration (so that frames produced by many callbacks go out together).
protocol EventLoopFlushable: AnyObject {
    func flushNow()
}

/// Monotonic nanoseconds.
enum Monotonic {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// One thread running an epoll loop. Connections, their TLS state and their
/// nghttp2 sessions belong to exactly one loop; other threads reach them only
/// through ``execute(_:)``.
///
/// `@unchecked Sendable`: the only members touched from other threads are
/// the task queue (behind a `Locked`) and the immutable eventfd.
final class EventLoop: @unchecked Sendable {
    let epfd: Int32
    private let wakeFD: Int32
    private let tasks = Locked<[@Sendable () -> Void]>([])
    private var handlers: [Int32: any EventLoopSelectable] = [:]
    private var timers = TimerHeap()
    private var flushList: [any EventLoopFlushable] = []
    private var running = true
    /// The loop's thread (0 until started): stored by ``start()`` and by the
    /// thread itself (whichever comes first), read from any thread.
    private let thread = Atomic<UInt>(0)
    private let finished = Locked<Bool>(false)
    let name: String
    /// A read buffer shared by every connection of the loop.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
    /// A gather buffer for outgoing bytes, shared by every connection.
    var gatherBuffer: [UInt8] = []
    private nonisolated(unsafe) static var wakeToken: UInt64 { UInt64.max }

    /// Writes to a socket the peer closed must fail with EPIPE, not kill
    /// the process: OpenSSL writes with plain write(2), so SIGPIPE is
    /// ignored process-wide once the first loop exists.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    init(name: String) {
        EventLoop.ignoreSIGPIPE
        self.name = name
        epfd = CSriovShims_epoll_create()
        wakeFD = CSriovShims_eventfd()
        _ = CSriovShims_epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFD, EPOLLIN.rawValue, EventLoop.wakeToken)
        gatherBuffer.reserveCapacity(65_536)
    }

    deinit {
        close(epfd)
        close(wakeFD)
        readBuffer.deallocate()
    }

    /// True when called on this loop's thread.
    var inLoop: Bool {
        let t = thread.load(ordering: .acquiring)
        return t != 0 && pthread_equal(t, pthread_self()) != 0
    }

    /// Runs `work` on the loop thread, in FIFO order.
    func execute(_ work: @escaping @Sendable () -> Void) {
        let wasEmpty = tasks.withLock { q in
            q.append(work)
            return q.count == 1
        }
        if wasEmpty { _ = CSriovShims_eventfd_signal(wakeFD) }
    }

    // MARK: - loop-thread API

    func register(fd: Int32, events: UInt32, handler: any EventLoopSelectable) {
        handlers[fd] = handler
        _ = CSriovShims_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    func modify(fd: Int32, events: UInt32) {
        _ = CSriovShims_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, events, UInt64(UInt32(bitPattern: fd)))
    }

    func deregister(fd: Int32) {
        handlers[fd] = nil
        _ = CSriovShims_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Runs `action` on the loop after `nanoseconds`; returns an id for
    /// ``cancelTimer(_:)``.
    @discardableResult
    func schedule(after nanoseconds: UInt64, _ action: @escaping () -> Void) -> UInt64 {
        timers.insert(deadline: Monotonic.now() &+ nanoseconds, action: action)
    }

    func cancelTimer(_ id: UInt64) { timers.cancel(id) }

    /// Asks for `target.flushNow()` at the end of this iteration.
    func scheduleFlush(_ target: any EventLoopFlushable) {
        flushList.append(target)
    }

    // MARK: - thread

    func start() {
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
            loop.run()
            return nil
        }, box.toOpaque())
        thread.store(t, ordering: .releasing)
    }

    /// Stops the loop after the current iteration and joins the thread.
    func stopAndJoin() {
        execute { [self] in running = false }
        let t = thread.load(ordering: .acquiring)
        if t != 0, !inLoop { pthread_join(t, nil) }
    }

    private func run() {
        thread.store(pthread_self(), ordering: .releasing)
        let maxEvents = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: maxEvents)
        defer { events.deallocate() }
        while running {
            var timeout: Int32 = -1
            if let next = timers.nextDeadline {
                let now = Monotonic.now()
                timeout = next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 60_000))
            }
            let n = CSriovShims_epoll_wait(epfd, events, Int32(maxEvents), timeout)
            if n > 0 {
                for i in 0..<Int(n) {
                    let data = CSriovShims_epoll_event_data(events + i)
                    let mask = CSriovShims_epoll_event_events(events + i)
                    if data == EventLoop.wakeToken {
                        _ = CSriovShims_eventfd_drain(wakeFD)
                        continue
                    }
                    handlers[Int32(truncatingIfNeeded: data)]?.handleEvents(mask)
                    drainFlushes()
                }
            }
            for action in timers.takeDue(now: Monotonic.now()) { action() }
            drainFlushes()
            let work = tasks.withLock { q -> [@Sendable () -> Void] in
                let w = q
                q.removeAll(keepingCapacity: true)
                return w
            }
            for w in work { w() }
            drainFlushes()
        }
        // Whatever is still registered or pending may hold the loop (a timer
        // closure capturing it, a connection's handler): drop it all so the
        // loop and its buffers are freed once the last owner lets go.
        timers.removeAll()
        handlers.removeAll()
        flushList.removeAll()
        tasks.withLock { $0.removeAll() }
    }

    private func drainFlushes() {
        while !flushList.isEmpty {
            let list = flushList
            flushList.removeAll(keepingCapacity: true)
            for f in list { f.flushNow() }
        }
    }
}

/// A binary min-heap of timers. Cancelling removes the entry (and frees its
/// closure) at once: a connection's keepalive and deadline timers are
/// cancelled far more often than they fire.
struct TimerHeap {
    private struct Entry {
        var deadline: UInt64
        var id: UInt64
        var action: () -> Void
    }
    private var heap: [Entry] = []
    /// Heap index of every pending timer, by id.
    private var position: [UInt64: Int] = [:]
    private var nextID: UInt64 = 1

    var nextDeadline: UInt64? { heap.first?.deadline }

    /// Pending timers.
    var count: Int { heap.count }

    mutating func insert(deadline: UInt64, action: @escaping () -> Void) -> UInt64 {
        let id = nextID
        nextID += 1
        heap.append(Entry(deadline: deadline, id: id, action: action))
        position[id] = heap.count - 1
        siftUp(heap.count - 1)
        return id
    }

    /// Removes a pending timer; an id that already fired or was cancelled
    /// is ignored.
    mutating func cancel(_ id: UInt64) {
        guard let i = position[id] else { return }
        remove(at: i)
    }

    /// Removes and returns the actions due at `now` (run them after the
    /// heap access ends: they may schedule timers).
    mutating func takeDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let first = heap.first, first.deadline <= now {
            due.append(remove(at: 0).action)
        }
        return due
    }

    mutating func removeAll() {
        heap.removeAll()
        position.removeAll()
    }

    @discardableResult
    private mutating func remove(at i: Int) -> Entry {
        let removed = heap[i]
        position[removed.id] = nil
        let last = heap.removeLast()
        if i < heap.count {
            heap[i] = last
            position[last.id] = i
            siftDown(i)
            siftUp(i)
        }
        return removed
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        position[heap[a].id] = a
        position[heap[b].id] = b
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let p = (i - 1) / 2
            if heap[p].deadline <= heap[i].deadline { break }
            swap(p, i)
            i = p
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { break }
            swap(i, m)
            i = m
        }
    }
}
