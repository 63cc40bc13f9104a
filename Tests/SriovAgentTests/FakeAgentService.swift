import SriovGRPC
import SriovProto
import SriovSync

/// An in-process `sriov.v1.Agent` service: serves a config the test sets,
/// records inventories and status reports, and checks the caller's node
/// identity as the controller does.
final class FakeAgentService: Sendable {
    struct State {
        var config = SriovV1.NodeConfig()
        var version = 0
        var reports: [SriovV1.StatusReport] = []
        var inventories: [SriovV1.InventoryReport] = []
        var watches = 0
    }

    let state = Locked(State())

    /// Pushes a new config generation to every watcher.
    func push(generation: Int64, _ spec: SriovV1.SriovNetworkNodeStateSpec, node: String = "n1") {
        state.withLock {
            $0.config.nodeName = node
            $0.config.generation = generation
            $0.config.spec = spec
            $0.version += 1
        }
    }

    var reports: [SriovV1.StatusReport] { state.withLock { $0.reports } }
    var inventories: [SriovV1.InventoryReport] { state.withLock { $0.inventories } }
    var watches: Int { state.withLock { $0.watches } }

    /// The last report about `generation`, if any.
    func lastReport(_ generation: Int64) -> SriovV1.StatusReport? { reports.last { $0.generation == generation } }

    static func authorize(_ node: String, _ context: ServerContext) throws {
        guard let id = context.peer.identity, id.role == .node, id.name == node else {
            throw RPCError(code: .permissionDenied, message: "\(context.peer) may not act for node \(node)")
        }
    }

    var routes: [ServerRoute] {
        [
            .clientStreaming(SriovV1.Agent.streamInventory) { stream, context in
                var ack = SriovV1.InventoryAck()
                for try await report in stream {
                    try Self.authorize(report.nodeName, context)
                    self.state.withLock { $0.inventories.append(report) }
                    ack.received += 1
                    ack.lastSequence = report.sequence
                }
                return ack
            },
            .serverStreaming(SriovV1.Agent.watchConfig) { request, writer, context in
                try Self.authorize(request.nodeName, context)
                self.state.withLock { $0.watches += 1 }
                var sent = -1
                while !Task.isCancelled {
                    let (config, version) = self.state.withLock { ($0.config, $0.version) }
                    if version != sent {
                        try await writer.write(config)
                        sent = version
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            },
            .unary(SriovV1.Agent.reportStatus) { report, context in
                try Self.authorize(report.nodeName, context)
                self.state.withLock { $0.reports.append(report) }
                var ack = SriovV1.StatusAck()
                ack.resourceVersion = "\(self.reports.count)"
                return ack
            },
        ]
    }
}
