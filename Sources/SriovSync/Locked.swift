@_exported import Synchronization

#if SRIOV_TSAN
/// ThreadSanitizer's annotations (its runtime is linked into a
/// `--sanitize=thread` build).
@usableFromInline @_silgen_name("__tsan_acquire") func tsanAcquire(_ address: UnsafeMutableRawPointer)
@usableFromInline @_silgen_name("__tsan_release") func tsanRelease(_ address: UnsafeMutableRawPointer)
#endif

/// Synchronization's `Mutex`, in a form ThreadSanitizer can follow.
///
/// On Linux `Mutex` locks with futex system calls, which ThreadSanitizer does
/// not intercept: it sees no ordering between two critical sections and
/// reports every value behind a `Mutex` touched from two threads as a race.
/// In a build with `-DSRIOV_TSAN` (scripts/tsan.sh), `Locked` tells it about
/// the lock (acquire on entry, release on exit, on a byte of its own); in
/// every other build it is `Mutex` and nothing more. The project uses
/// `Locked` wherever it would use `Mutex`.
public struct Locked<Value: ~Copyable>: ~Copyable {
    @usableFromInline let mutex: Mutex<Value>
    #if SRIOV_TSAN
    @usableFromInline let token: UnsafeMutableRawPointer
    #endif

    @inlinable
    public init(_ initialValue: consuming sending Value) {
        mutex = Mutex(initialValue)
        #if SRIOV_TSAN
        token = .allocate(byteCount: 1, alignment: 1)
        #endif
    }

    #if SRIOV_TSAN
    deinit { token.deallocate() }
    #endif

    /// Runs `body` with the value, holding the lock.
    @inlinable
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            #if SRIOV_TSAN
            tsanAcquire(token)
            defer { tsanRelease(token) }
            #endif
            return try body(&value)
        }
    }
}

extension Locked: @unchecked Sendable where Value: ~Copyable {}
