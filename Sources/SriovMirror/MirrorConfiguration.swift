/// Settings of the cluster mirror, with documented defaults.
public struct MirrorConfiguration: Sendable {
    /// Namespace of the SriovNetworkNodeState CRs and the device plugin's
    /// ConfigMap (the controller's operator namespace).
    public var namespace = "sriov-network-operator"
    /// Name of the device plugin's ConfigMap (one key per node), as the
    /// device plugin DaemonSet in deploy/ mounts it.
    public var configMapName = "device-plugin-config"
    /// Field manager of every server-side apply; stable so that ownership
    /// survives restarts.
    public var fieldManager = "sriov-mirror"
    /// Apply policies and networks from the cluster to the controller and
    /// write the controller's verdict back (needs an operator certificate).
    public var syncDesiredState = false
    /// Writes in flight at once: enough to hide an API round trip, few
    /// enough not to look like a flood to the API server's priority and
    /// fairness.
    public var concurrentWrites = 8
    /// A full re-list of what the mirror owns in the cluster, to repair drift
    /// no watch reported (5 minutes: cheap, since only differences are
    /// written).
    public var resyncInterval: Duration = .seconds(300)
    /// Server-side timeout of each Kubernetes watch; the watch is then
    /// renewed from its last resourceVersion.
    public var watchTimeoutSeconds = 300
    /// First retry delay after a failed write or a broken stream; doubled up
    /// to `maxBackoff`. A Retry-After of the server wins when longer.
    public var initialBackoff: Duration = .milliseconds(200)
    /// Longest retry delay (30 s, as client-go's default rate limiter caps
    /// per-item backoff at much more; the mirror has few items per node).
    public var maxBackoff: Duration = .seconds(30)

    public init() {}

    public static var defaults: Self { Self() }

    /// The label on every object the mirror creates; only objects carrying
    /// it are ever deleted.
    public static let managedByLabel = "app.kubernetes.io/managed-by"
    public static let managedByValue = "sriov-mirror"
    public static var managedBySelector: String { "\(managedByLabel)=\(managedByValue)" }
}
