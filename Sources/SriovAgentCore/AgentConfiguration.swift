import SriovGRPC

/// What a ``SriovAgent`` needs besides its channel and host.
public struct AgentConfiguration: Sendable {
    /// This node's name; must match the certificate's `spiffe://TD/node/NAME`.
    public var nodeName: String
    /// Node labels sent with the inventory (policies' nodeSelector matches them).
    public var labels: [String: String] = [:]
    /// How often sysfs is rediscovered: inventory is resent, drift repaired.
    /// 30 s: drift is found within half a minute while an idle agent stays
    /// at about 0 % CPU.
    public var rescanInterval: Duration = .seconds(30)
    /// First delay before an RPC that failed is tried again; doubled per
    /// failure up to ``maxRetryDelay`` (the channel's own connection backoff
    /// runs underneath, so this only spaces out calls on a live connection).
    public var retryDelay: Duration = .seconds(1)
    /// Largest delay between RPC retries: 30 s.
    public var maxRetryDelay: Duration = .seconds(30)
    /// Deadline of one status report: 20 s.
    public var reportTimeout: Duration = .seconds(20)

    public init(nodeName: String) {
        self.nodeName = nodeName
    }

    /// Client keepalive that stays within the controller's PING policy:
    /// gRPC servers (ours included) count PINGs closer than 5 minutes as
    /// strikes, so the agent PINGs every 5.5 minutes while its config watch
    /// is open and gives the ACK 20 s. Together with the controller's own
    /// 60 s PINGs a dead path is noticed from both ends.
    public static let keepalive = ClientKeepalive(interval: .seconds(330), timeout: .seconds(20), permitWithoutCalls: false)
}

/// The values of `StatusReport.sync_status`.
public enum SyncStatus {
    public static let inProgress = "InProgress"
    public static let succeeded = "Succeeded"
    public static let failed = "Failed"
}
