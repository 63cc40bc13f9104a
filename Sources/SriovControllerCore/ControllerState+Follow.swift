import SriovAPI
import SriovProto
import SriovRender
import SriovStore

extension ControllerState {
    /// Follows the store's watch so that writes made through other replicas
    /// reach this one: its caches, its render state, and the config streams
    /// of the agents connected to it.
    ///
    /// Every replica stores a node's generation with the node's spec, so an
    /// agent sees the same generation whichever replica it talks to; this
    /// replica pushes a node's config when the stored generation moves past
    /// the one it holds. The returned task runs until cancelled; after a
    /// compacted resume point it reloads everything and pushes what changed.
    public func startFollowing() -> Task<Void, Never> {
        following = true
        let start = loadedRevision
        let store = self.store
        let logger = self.logger
        return Task { [weak self] in
            var after = start
            while !Task.isCancelled {
                do {
                    for try await event in store.watch(prefix: "/", after: after) {
                        guard let self else { return }
                        await self.applyRemote(event)
                        after = event.revision
                    }
                    if Task.isCancelled { return }
                } catch let e as StoreError where e.code == .compacted {
                    logger.warning("the store's history moved past this replica; reloading", metadata: ["revision": "\(after)"])
                    guard let self else { return }
                    after = (try? await self.resync()) ?? after
                } catch {
                    logger.warning("store watch failed; resuming", metadata: ["error": "\(error)", "revision": "\(after)"])
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Reloads everything and pushes each node whose generation changed.
    /// Returns the revision to follow from.
    func resync() async throws -> Revision {
        let before = nodes.mapValues(\.metadata.generation)
        try await reload()
        for (name, state) in nodes where before[name] != state.metadata.generation {
            pushStored(state)
        }
        return loadedRevision
    }

    /// Pushes a stored node state to its agents on this replica.
    private func pushStored(_ state: SriovV1.SriovNetworkNodeState) {
        let offer = ConfigFanout.Offer(
            config: config(for: state, devicePlugin: render.outputs[state.metadata.name]?.devicePluginConfig.jsonText ?? ""),
            changedAt: ContinuousClock().now)
        fanout.push(offer)
    }

    /// Whether the cache already holds `revision` or a newer write of a key
    /// (an empty resource version is a write of ours still in flight: that
    /// write's own compare decides, so the event is not applied over it).
    private static func holds(_ cachedVersion: String?, _ revision: Revision) -> Bool {
        guard let cachedVersion else { return false }
        guard let have = Revision(cachedVersion) else { return true }
        return have >= revision
    }

    /// Applies one change seen on the store's watch unless this replica made
    /// it or already holds something newer.
    func applyRemote(_ event: WatchEvent) {
        if !committedRevisions.isEmpty {
            committedRevisions = committedRevisions.filter { $0 >= event.revision }
            if committedRevisions.contains(event.revision) { return }
        }
        let key = event.kv.key
        let isPut = event.kind == .put
        do {
            if key.hasPrefix(ObjectKeys.policies) {
                let p = try StoredObject.policy(event.kv)
                if Self.holds(policies[p.name]?.metadata.resourceVersion, event.revision) { return }
                if isPut {
                    policies[p.name] = p
                    _ = render.apply(.upsertPolicy(Self.unversioned(p)))
                } else if policies[p.name] != nil {
                    policies[p.name] = nil
                    _ = render.apply(.removePolicy(name: p.name))
                }
            } else if key.hasPrefix(ObjectKeys.networks) {
                var n = try StoredObject.network(event.kv)
                let k = RenderState.key(n)
                if Self.holds(networks[k]?.metadata.resourceVersion, event.revision) { return }
                if isPut {
                    networks[k] = n
                    n.metadata.resourceVersion = ""
                    _ = render.apply(.upsertNetwork(n))
                } else if networks[k] != nil {
                    networks[k] = nil
                    _ = render.apply(.removeNetwork(namespace: n.metadata.namespace, name: n.metadata.name))
                }
            } else if key.hasPrefix(ObjectKeys.nodeStates) {
                let n = try StoredObject.nodeState(event.kv)
                let name = n.metadata.name
                let cached = nodes[name]
                if Self.holds(cached?.metadata.resourceVersion, event.revision) { return }
                if isPut {
                    setCachedNode(name, n)
                    if cached?.status.nodeLabels != n.status.nodeLabels || cached?.status.interfaces != n.status.interfaces {
                        _ = render.apply(.upsertNode(RenderNode(name: name, labels: n.status.nodeLabels, interfaces: n.status.interfaces)))
                    }
                    if cached?.metadata.generation != n.metadata.generation || cached?.spec != n.spec {
                        pushStored(n)
                    }
                } else if cached != nil {
                    setCachedNode(name, nil)
                    _ = render.apply(.removeNode(name: name))
                }
                updateSyncGauges()
            } else if key.hasPrefix(ObjectKeys.rendered) {
                if Self.holds(rendered[key]?.resourceVersion, event.revision) { return }
                rendered[key] = isPut ? try StoredObject.rendered(event.kv) : nil
            }
        } catch {
            // A value this build cannot decode: rebuild from the store
            // before the next write rather than run on a partial view.
            needsReload = true
            logger.error("cannot decode a change made through another replica", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }
}
