import SriovProto

/// The one place that checks objects against upstream's CRD schema and the
/// static checks of its admission webhook. Every entry point (the CLI, the
/// controller's Apply RPCs, the renderer's inputs) is meant to call these.
///
/// Each problem is a ``FieldError`` naming the object, the field path, the
/// value and what is accepted; all problems of an object are returned
/// together. Objects are validated as written, before ``Defaults`` (an empty
/// deviceType is fine; it means `netdevice`).
///
/// Limits this project chooses where upstream sets none:
/// - ``maxNumVfs``: 1024 VFs per PF, a sanity bound (upstream's CRD only sets
///   a minimum of 0); the real per-PF limit, `totalvfs`, needs the node and is
///   checked by the renderer;
/// - ``maxMTU``: 65535 (upstream's CRD sets a minimum of 1 and no maximum;
///   65535 covers every Ethernet jumbo size and IPoIB's largest MTU, 65520);
/// - `minTxRate` ≤ `maxTxRate` is enforced when both are set and `maxTxRate`
///   is not 0 (0 means no limit); upstream only documents the rule.
public enum Validation {
    /// Largest accepted `numVfs`.
    public static let maxNumVfs: Int32 = 1024
    /// Largest accepted `mtu`.
    public static let maxMTU: Int32 = 65535

    static let deviceTypes = ["netdevice", "vfio-pci"]
    static let linkTypes = ["eth", "ETH", "ib", "IB"]
    static let eSwitchModes = ["legacy", "switchdev"]
    static let vdpaTypes = ["virtio", "vhost"]
    static let vlanProtos = ["802.1q", "802.1Q", "802.1ad", "802.1AD"]
    static let onOff = ["on", "off"]
    static let linkStates = ["auto", "enable", "disable"]
    static let logLevels = ["panic", "error", "warning", "info", "debug"]
    static let syncStatuses = ["Succeeded", "Failed", "InProgress"]
    static let rdmaModes = ["shared", "exclusive"]

    /// Validates any decoded object.
    public static func validate(_ object: APIObject) -> [FieldError] {
        switch object {
        case .policy(let p): validate(p)
        case .network(let n): validate(n)
        case .nodeState(let s): validate(s)
        case .node(let n): validate(n)
        }
    }

    /// Throws a ``FieldErrorList`` with every problem of `object`.
    public static func check(_ object: APIObject) throws(FieldErrorList) {
        let errors = validate(object)
        if !errors.isEmpty { throw FieldErrorList(errors) }
    }

    /// Throws a ``FieldErrorList`` with every problem of `policy`.
    public static func check(_ policy: SriovV1.SriovNetworkNodePolicy) throws(FieldErrorList) {
        try check(.policy(policy))
    }

    /// Throws a ``FieldErrorList`` with every problem of `network`.
    public static func check(_ network: SriovV1.SriovNetwork) throws(FieldErrorList) {
        try check(.network(network))
    }

    /// Throws a ``FieldErrorList`` with every problem of `state`.
    public static func check(_ state: SriovV1.SriovNetworkNodeState) throws(FieldErrorList) {
        try check(.nodeState(state))
    }

    /// Validates several objects; the problems of all of them, in order.
    public static func validate(_ objects: [APIObject]) -> [FieldError] {
        objects.flatMap { validate($0) }
    }
}
