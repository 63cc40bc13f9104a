import Foundation
import Logging
import SriovAPI

extension ClusterMirror {
    /// Lists what the mirror owns in the cluster, then watches it (node
    /// states, NetworkAttachmentDefinitions in every namespace, the
    /// device-plugin ConfigMap: someone else's edit or delete is repaired at
    /// once); lists again after 410 Gone, a failed watch or `resyncInterval`.
    func reconcileCluster() async {
        // Nothing is deleted before the controller's first snapshots arrived.
        while !Task.isCancelled && !state.withLock({ $0.snapshotsComplete }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        var backoff = Backoff(configuration)
        while !Task.isCancelled {
            do {
                let listed = try await listCluster()
                backoff.reset()
                try await watchCluster(from: listed.resourceVersion, networkAttachments: listed.networkAttachments)
            } catch {
                if Task.isCancelled { return }
                logger.warning("cluster listing or watch failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Lists node states, NetworkAttachmentDefinitions and the ConfigMap the
    /// mirror owns; returns the node-state list's resourceVersion and
    /// whether the NetworkAttachmentDefinition CRD answered.
    func listCluster() async throws(KubeError) -> (resourceVersion: String, networkAttachments: Bool) {
        stats.withLock { $0.clusterListings += 1 }
        let selector = MirrorConfiguration.managedBySelector
        let nodes = try await kube.json(
            "GET", KubePaths.nodeStates(namespace: configuration.namespace), query: [("labelSelector", selector)])
        var found: [MirrorKey: String] = [:]
        for item in Self.items(nodes) {
            if let name = item["metadata"]?["name"]?.stringValue, let rv = item["metadata"]?["resourceVersion"]?.stringValue {
                found[.nodeState(name)] = rv
            }
        }
        var kinds: Set<MirrorState.Kind> = [.nodeState]
        // NetworkAttachmentDefinitions: absent CRD (Multus not installed yet)
        // only delays them.
        let nads = try? await kube.json("GET", KubePaths.allNetworkAttachments, query: [("labelSelector", selector)])
        if let nads {
            kinds.insert(.networkAttachment)
            for item in Self.items(nads) {
                if let ns = item["metadata"]?["namespace"]?.stringValue, let name = item["metadata"]?["name"]?.stringValue,
                    let rv = item["metadata"]?["resourceVersion"]?.stringValue
                {
                    found[.networkAttachment(namespace: ns, name: name)] = rv
                }
            }
        }
        let cmPath = KubePaths.configMap(namespace: configuration.namespace, name: configuration.configMapName)
        let cm = try await kube.send("GET", cmPath)
        if cm.status == 200 {
            let value = try cm.json()
            if value["metadata"]?["labels"]?[MirrorConfiguration.managedByLabel] == .string(MirrorConfiguration.managedByValue),
                let rv = value["metadata"]?["resourceVersion"]?.stringValue
            {
                found[.devicePluginConfig] = rv
            }
            kinds.insert(.configMap)
        } else if cm.status == 404 {
            kinds.insert(.configMap)
        } else {
            throw KubeClient.error(cm, "GET", cmPath)
        }
        let inFlight = self.inFlight.withLock { $0 }
        update { s in
            s.clusterListed(found.filter { !inFlight.contains($0.key) }, kinds: kinds)
        }
        return (nodes["metadata"]?["resourceVersion"]?.stringValue ?? "", kinds.contains(.networkAttachment))
    }

    /// Watches the three kinds side by side from `resourceVersion` (one
    /// counter for all of them, as etcd's revision is); the first watch to
    /// end (410, a failure, the resync interval) ends the others.
    func watchCluster(from resourceVersion: String, networkAttachments: Bool) async throws(KubeError) {
        let namespace = configuration.namespace
        let configMapName = configuration.configMapName
        var watches: [(path: String, key: @Sendable (CRValue) -> MirrorKey?)] = [
            (KubePaths.nodeStates(namespace: namespace), { o in o["metadata"]?["name"]?.stringValue.map { .nodeState($0) } }),
            (KubePaths.configMaps(namespace: namespace), { o in
                o["metadata"]?["name"]?.stringValue == configMapName ? .devicePluginConfig : nil
            }),
        ]
        if networkAttachments {
            watches.append((KubePaths.allNetworkAttachments, { o in
                guard let ns = o["metadata"]?["namespace"]?.stringValue, let name = o["metadata"]?["name"]?.stringValue else { return nil }
                return .networkAttachment(namespace: ns, name: name)
            }))
        }
        let deadline = ContinuousClock.now + configuration.resyncInterval
        let watchList = watches
        let outcome: KubeError? = await withTaskGroup(of: KubeError?.self) { group in
            for w in watchList {
                group.addTask {
                    do throws(KubeError) {
                        try await self.watchManaged(w.path, from: resourceVersion, until: deadline, key: w.key)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let outcome { throw outcome }
    }

    /// Watches the mirror's objects under `path` from `resourceVersion`
    /// until 410, a failure or `deadline`; renews the watch when the server
    /// ends it. `key` names the object an event is about (nil: not ours).
    func watchManaged(
        _ path: String, from start: String, until deadline: ContinuousClock.Instant, key: (CRValue) -> MirrorKey?
    ) async throws(KubeError) {
        var resourceVersion = start
        while !Task.isCancelled && ContinuousClock.now < deadline {
            let stream = kube.watch(
                path, resourceVersion: resourceVersion, labelSelector: MirrorConfiguration.managedBySelector,
                timeoutSeconds: configuration.watchTimeoutSeconds)
            do {
                for try await event in stream {
                    switch event.type {
                    case "BOOKMARK":
                        if let rv = event.resourceVersion { resourceVersion = rv }
                    case "ERROR":
                        let code = event.object["code"].flatMap { if case .int(let c) = $0 { Int(c) } else { nil } }
                        let message = event.object["message"]?.stringValue ?? "watch error"
                        // 410 Gone: the resourceVersion was compacted away.
                        throw KubeError(.httpStatus, "watch \(path): \(message)", status: code ?? 500)
                    case "ADDED", "MODIFIED", "DELETED":
                        guard let rv = event.resourceVersion else { continue }
                        resourceVersion = rv
                        guard let key = key(event.object) else { continue }
                        if inFlight.withLock({ $0.contains(key) }) { continue }
                        update { $0.clusterChanged(key, resourceVersion: event.type == "DELETED" ? nil : rv) }
                    default:
                        continue
                    }
                    if ContinuousClock.now >= deadline { return }
                }
            } catch let error as KubeError {
                if error.status == 410 {
                    logger.notice("cluster watch expired (410); listing again", metadata: ["resourceVersion": "\(resourceVersion)"])
                }
                throw error
            } catch {
                throw KubeError(.transport, "watch \(path): \(error)")
            }
        }
    }

    static func items(_ list: CRValue) -> [CRValue] {
        if case .array(let items)? = list["items"] { return items }
        return []
    }
}
