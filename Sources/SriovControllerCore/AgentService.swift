import Logging
import SriovGRPC
import SriovProto

/// `sriov.v1.Agent`: the node agents' inventory, config watch and status.
/// A node certificate acts for its own node only.
public struct AgentService: Sendable {
    let state: ControllerState
    let fanout: ConfigFanout
    let metrics: ControllerMetrics
    let logger: Logger

    public init(state: ControllerState, fanout: ConfigFanout, metrics: ControllerMetrics, logger: Logger) {
        self.state = state
        self.fanout = fanout
        self.metrics = metrics
        self.logger = logger
    }

    typealias Agent = SriovV1.Agent

    public var routes: [ServerRoute] {
        let state = state
        let fanout = fanout
        let metrics = metrics
        let logger = logger
        return [
            ServerRoute.clientStreaming(Agent.streamInventory) { requests, context in
                try await Instrumented.run(Agent.streamInventory.method, metrics: metrics) {
                    let caller = try Authorization.check(.agent, context, logger: logger)
                    var ack = SriovV1.InventoryAck()
                    do {
                        for try await report in requests {
                            try Authorization.checkNode(caller, asks: report.nodeName, context, logger: logger)
                            if report.sequence <= ack.lastSequence && ack.received > 0 {
                                throw RPCError(code: .invalidArgument, message: "sequence \(report.sequence) does not increase (last \(ack.lastSequence))")
                            }
                            try await state.reportInventory(node: report.nodeName, labels: report.labels, interfaces: report.interfaces)
                            ack.received += 1
                            ack.lastSequence = report.sequence
                        }
                    } catch {
                        throw rpcError(error)
                    }
                    return ack
                }
            },
            ServerRoute.serverStreaming(Agent.watchConfig) { request, writer, context in
                try await Instrumented.run(Agent.watchConfig.method, metrics: metrics) {
                    let caller = try Authorization.check(.agent, context, logger: logger)
                    try Authorization.checkNode(caller, asks: request.nodeName, context, logger: logger)
                    let sub = await state.subscribeConfig(node: request.nodeName)
                    metrics.connectedAgents.set(Double(fanout.connectedNodes))
                    logger.debug("config stream opened", metadata: ["sriov.node": "\(request.nodeName)"])
                    defer {
                        fanout.unsubscribe(sub)
                        metrics.connectedAgents.set(Double(fanout.connectedNodes))
                    }
                    let clock = ContinuousClock()
                    while let offer = await sub.next() {
                        try await writer.write(offer.config)
                        metrics.pushLatency.record(clock.now - offer.changedAt)
                    }
                    if sub.endReason == .superseded {
                        throw RPCError(code: .aborted, message: "a newer WatchConfig stream for node \"\(request.nodeName)\" replaced this one")
                    }
                    throw RPCError(code: .unavailable, message: "the controller is shutting down")
                }
            },
            ServerRoute.unary(Agent.reportStatus) { report, context in
                try await Instrumented.run(Agent.reportStatus.method, metrics: metrics) {
                    let caller = try Authorization.check(.agent, context, logger: logger)
                    try Authorization.checkNode(caller, asks: report.nodeName, context, logger: logger)
                    do {
                        var ack = SriovV1.StatusAck()
                        ack.resourceVersion = String(try await state.reportStatus(report))
                        return ack
                    } catch {
                        throw rpcError(error)
                    }
                }
            },
        ]
    }
}
