import SriovProto

/// The defaults upstream applies to objects on admission, in one place.
///
/// ``CRCodec`` never applies them, so a decoded object encodes back to what
/// was written; callers that act on an object (the renderer, the controller)
/// apply them first.
public enum Defaults {
    /// Priority of a policy that does not set one. Upstream's mutating webhook
    /// writes 99 (the lowest precedence: a lower number wins). Without the
    /// webhook upstream would read an absent priority as 0, the highest; this
    /// project always behaves as if the webhook ran.
    public static let policyPriority: Int32 = 99
    /// Device type of a policy that does not set one (the CRD default).
    public static let deviceType = "netdevice"
    /// Log level of a network that does not set one (the CRD default).
    public static let networkLogLevel = "info"

    /// Applies the policy defaults: priority 99 when absent, deviceType
    /// `netdevice` when empty, and `isRdma` true when linkType is `ib`/`IB`
    /// and the device type is not `vfio-pci` (upstream's mutating webhook).
    public static func apply(to policy: inout SriovV1.SriovNetworkNodePolicy) {
        if policy.spec.priority == nil { policy.spec.priority = policyPriority }
        if policy.spec.deviceType.isEmpty { policy.spec.deviceType = deviceType }
        if policy.spec.linkType.lowercased() == "ib" && policy.spec.deviceType != "vfio-pci" {
            policy.spec.isRdma = true
        }
    }

    /// Applies the network defaults: logLevel `info` when empty.
    public static func apply(to network: inout SriovV1.SriovNetwork) {
        if network.spec.logLevel.isEmpty { network.spec.logLevel = networkLogLevel }
    }

    /// The policy with its defaults applied.
    public static func applied(to policy: SriovV1.SriovNetworkNodePolicy) -> SriovV1.SriovNetworkNodePolicy {
        var p = policy
        apply(to: &p)
        return p
    }

    /// The network with its defaults applied.
    public static func applied(to network: SriovV1.SriovNetwork) -> SriovV1.SriovNetwork {
        var n = network
        apply(to: &n)
        return n
    }
}
