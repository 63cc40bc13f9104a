import Foundation
import SriovAPI
import SriovSync

/// One event of a Kubernetes watch: ADDED, MODIFIED, DELETED, BOOKMARK or
/// ERROR (whose object is a Status; 410 means the resourceVersion is gone).
public struct KubeWatchEvent: Sendable {
    public var type: String
    public var object: CRValue

    /// The object's metadata.resourceVersion.
    public var resourceVersion: String? { object["metadata"]?["resourceVersion"]?.stringValue }
}

extension KubeClient {
    /// Watches a collection from `resourceVersion` (nil: from now, with
    /// ADDED events for what exists) with bookmarks. The stream ends when the
    /// server ends the watch; it throws on a non-200 answer or a broken
    /// connection. Cancelling the consuming task closes the connection.
    public func watch(
        _ path: String, resourceVersion: String?, labelSelector: String? = nil, timeoutSeconds: Int = 300
    ) -> AsyncThrowingStream<KubeWatchEvent, any Error> {
        var query: [(String, String)] = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(timeoutSeconds))]
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        let target = Self.target(path, query)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: KubeWatchEvent.self, throwing: (any Error).self)
        let holder = Locked<KubeConnection?>(nil)
        let cancelled = Locked(false)
        continuation.onTermination = { _ in
            cancelled.withLock { $0 = true }
            holder.withLock { $0?.abort() }
        }
        countWatch()
        let thread = Thread { [self] in
            do throws(KubeError) {
                let c = try KubeConnection(config: config, context: contextForWatch, timeout: limits.requestTimeout)
                holder.withLock { $0 = c }
                if cancelled.withLock({ $0 }) { c.abort() }
                // Bookmarks arrive well within this; silence past it is a dead peer.
                c.setReadTimeout(.seconds(timeoutSeconds + 30))
                try c.write(head("GET", target, contentType: nil, length: nil, watch: true))
                let (status, headers) = try readHead(c)
                guard status == 200 else {
                    let body = (try? c.read(count: Int(headers["content-length"] ?? "0") ?? 0)) ?? []
                    throw Self.error(KubeResponse(status: status, headers: headers, body: body), "WATCH", path)
                }
                var pending: [UInt8] = []
                while let chunk = try readChunk(c) {
                    pending += chunk
                    while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: pending[..<nl], as: UTF8.self)
                        pending.removeSubrange(...nl)
                        guard !line.isEmpty else { continue }
                        let value: CRValue
                        do {
                            value = try CRValue.parseDocument(line, source: "watch event")
                        } catch {
                            throw KubeError(.protocolViolation, "a watch event is not JSON: \(error)")
                        }
                        guard let type = value["type"]?.stringValue, let object = value["object"] else {
                            throw KubeError(.protocolViolation, "a watch event without type or object")
                        }
                        continuation.yield(KubeWatchEvent(type: type, object: object))
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: cancelled.withLock { $0 } ? CancellationError() : error)
            }
        }
        thread.name = "sriov-mirror-watch"
        thread.start()
        return stream
    }
}
