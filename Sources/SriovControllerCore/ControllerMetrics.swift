import Prometheus
import SriovGRPC
import SriovSync

/// The controller's Prometheus metrics (served as text on `GET /metrics`).
///
/// swift-prometheus keeps the collectors and writes the exposition format;
/// this type names them and records into them.
public final class ControllerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Latency buckets from 100 µs to 10 s.
    static let buckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]

    let connectedAgents: Gauge
    let renderDuration: DurationHistogram
    let commitDuration: DurationHistogram
    let pushLatency: DurationHistogram
    let nodeStatesCollected: Counter
    let splitCommits: Counter
    /// 1 while this replica leads (always with a single replica).
    public let leader: Gauge
    private let syncGauges: [String: Gauge]
    private let rpcCells = Locked<[String: (histogram: DurationHistogram, codes: [Int: Counter])]>([:])

    /// Sync status label values, "" shown as "None".
    static let syncStatuses = ["Succeeded", "Failed", "InProgress", "None"]

    public init() {
        connectedAgents = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "connected_agents", unitName: "",
            helpText: "Agents with a live WatchConfig stream."))
        renderDuration = registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "render_duration", unitName: "seconds",
            helpText: "Time to re-render what one change affects."), buckets: Self.buckets)
        commitDuration = registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "store_commit_duration", unitName: "seconds",
            helpText: "Time from submitting a write to the store until it is durable."), buckets: Self.buckets)
        pushLatency = registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "config_push_latency", unitName: "seconds",
            helpText: "Time from a node's spec change to its config message being written to its agent."), buckets: Self.buckets)
        nodeStatesCollected = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "node_states_collected", unitName: "",
            helpText: "Node states deleted because their agent had not reported for --node-state-gc-after."))
        splitCommits = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "split_commits", unitName: "",
            helpText: "Mutations written in several transactions because one was larger than the store takes (etcd --max-txn-ops)."))
        leader = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "sriov", metricName: "leader", unitName: "",
            helpText: "1 while this replica holds the leader lease (always with the sqlite store)."))
        var gauges: [String: Gauge] = [:]
        for s in Self.syncStatuses {
            gauges[s] = registry.makeGauge(descriptor: MetricNameDescriptor(
                namespace: "sriov", metricName: "node_states", unitName: "",
                helpText: "Node states by sync status."), labels: [("sync_status", s)])
        }
        syncGauges = gauges
    }

    /// Sets the node-state counts by sync status.
    func setSyncCounts(_ counts: [String: Int]) {
        for s in Self.syncStatuses {
            syncGauges[s]?.set(Double(counts[s] ?? 0))
        }
    }

    /// Records one finished RPC.
    public func recordRPC(method: String, code: StatusCode, duration: Duration) {
        let cell = rpcCells.withLock { cells -> (DurationHistogram, Counter) in
            var entry = cells[method] ?? (
                registry.makeDurationHistogram(descriptor: MetricNameDescriptor(
                    namespace: "sriov", metricName: "rpc_duration", unitName: "seconds",
                    helpText: "RPC handling time by method."), labels: [("method", method)], buckets: Self.buckets),
                [:])
            let counter = entry.codes[code.rawValue] ?? registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "sriov", metricName: "rpc_requests", unitName: "total",
                    helpText: "RPCs by method and status code."),
                labels: [("method", method), ("code", "\(code)")])
            entry.codes[code.rawValue] = counter
            cells[method] = entry
            return (entry.histogram, counter)
        }
        cell.0.record(duration)
        cell.1.increment()
    }

    /// The exposition text.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
