import SriovGRPC
import SriovProto
import SriovStore

extension EtcdStore {
    /// One watch: a `Watch` stream on the current endpoint, opened again on
    /// the next endpoint after the last delivered revision whenever it
    /// breaks, until the consumer goes away or the store closes.
    ///
    /// etcd's answers: events (mapped to ``WatchEvent``; a delete carries
    /// the value it removed), progress notifications (they advance
    /// ``currentRevision``), and a cancel with `compact_revision` when the
    /// start revision is compacted, which ends the stream with `.compacted`.
    func runWatch(prefix: String, after revision: Revision, _ continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation) async {
        var last = revision
        var failures = 0
        let start = etcdKey(prefix)
        while !Task.isCancelled {
            let index = pickEndpoint()
            var create = Etcdserverpb.WatchCreateRequest()
            create.key = start
            create.rangeEnd = Self.rangeEnd(start)
            create.startRevision = last + 1
            create.prevKv = true
            create.progressNotify = true
            var request = Etcdserverpb.WatchRequest()
            request.requestUnion = .createRequest(create)
            do {
                try await channels[index].bidirectionalStreaming(Etcdserverpb.Watch.watch, waitForReady: failures > 0) { writer, responses in
                    try await writer.write(request)
                    for try await resp in responses {
                        observe(resp.header)
                        if resp.canceled {
                            if resp.compactRevision > 0 {
                                compactedRevisionSeen(resp.compactRevision - 1)
                                throw StoreError(.compacted, "watch of \(prefix) from revision \(last + 1): etcd compacted its history up to \(resp.compactRevision - 1)")
                            }
                            throw StoreError(.unavailable, "etcd cancelled the watch of \(prefix): \(resp.cancelReason)")
                        }
                        failures = 0
                        for e in resp.events {
                            let event = watchEvent(e)
                            last = max(last, event.revision)
                            if case .terminated = continuation.yield(event) { return }
                        }
                    }
                    throw RPCError(code: .unavailable, message: "etcd ended the watch stream")
                }
                continuation.finish()
                return
            } catch let e as StoreError {
                continuation.finish(throwing: e)
                return
            } catch {
                if Task.isCancelled { break }
                failures += 1
                moveOn(from: index)
                try? await Task.sleep(for: options.watchRetryDelay)
            }
        }
        continuation.finish()
    }

    func compactedRevisionSeen(_ revision: Revision) {
        compactedAtomic.max(revision)
    }

    /// etcd's event in our shape.
    func watchEvent(_ e: Mvccpb.Event) -> WatchEvent {
        let hasPrevious = !e.prevKv.key.isEmpty
        let previous = hasPrevious ? keyValue(e.prevKv) : nil
        if e.type == .delete {
            // etcd's delete event carries only the key and the delete's
            // revision: ours carries the value as it was.
            var kv = previous ?? KeyValue(key: storeKey(e.kv.key), value: [], createRevision: 0, modRevision: 0)
            kv.modRevision = e.kv.modRevision
            return WatchEvent(kind: .delete, kv: kv, previous: previous)
        }
        return WatchEvent(kind: .put, kv: keyValue(e.kv), previous: previous)
    }
}
