import SriovProto

/// The one place that checks objects against upstream's CRD schema and the
/// static checks of its admission webhook. Every entry point (the CLI, the
/// controller's Apply RPCs, the renderer's inputs) calls these functions.
///
/// Each problem is a ``FieldError`` naming the object, the field path, the
/// value and what is accepted; all problems of an object are returned
/// together. Objects are validated as written, before ``Defaults`` (an empty
/// deviceType is fine; it means `netdevice`).
///
/// Limits this project chooses where upstream sets none:
/// - ``maxNumVfs``: 1024 VFs per PF (PCIe SR-IOV allows at most 65535 but no
///   NIC in upstream's supported list exposes more than 1024; the per-PF
///   `totalvfs` check needs the node and is the renderer's);
/// - ``maxMTU``: 65535 (upstream's CRD has a minimum of 1 and no maximum;
///   larger values cannot be set through netlink's 16-bit-range drivers
///   and IPoIB's largest MTU, 65520, fits).
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

    /// Validates any decoded object (Nodes are not validated).
    public static func validate(_ object: APIObject) -> [FieldError] {
        switch object {
        case .policy(let p): validate(p)
        case .network(let n): validate(n)
        case .nodeState(let s): validate(s)
        case .node: []
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

/// Collects the problems of one object.
struct Checker {
    let kind: String
    let name: String
    var errors: [FieldError] = []

    mutating func fail(_ code: FieldError.Code, _ path: String, _ value: String?, _ message: String) {
        errors.append(FieldError(code: code, kind: kind, name: name, path: path, value: value, message: message))
    }

    static func quote(_ s: String) -> String { CRValue.yamlDoubleQuoted(s) }

    static func list(_ accepted: [String], empty: Bool) -> String {
        "accepted: " + accepted.joined(separator: ", ") + (empty ? " or empty" : "")
    }

    mutating func oneOf(_ value: String, _ accepted: [String], at path: String, allowEmpty: Bool = true) {
        if value.isEmpty && allowEmpty { return }
        if !accepted.contains(value) {
            fail(.invalid, path, Self.quote(value), Self.list(accepted, empty: allowEmpty))
        }
    }

    mutating func range(_ value: Int64, _ bounds: ClosedRange<Int64>, at path: String, note: String = "") {
        if !bounds.contains(value) {
            fail(.invalid, path, String(value), "accepted: \(bounds.lowerBound)...\(bounds.upperBound)\(note)")
        }
    }

    mutating func objectName(_ name: String, at path: String) {
        if name.isEmpty {
            fail(.required, path, nil, "a name is required (a DNS-1123 subdomain)")
        } else if !Syntax.isDNS1123Subdomain(name) {
            fail(
                .invalid, path, Self.quote(name),
                "must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
            )
        }
    }

    mutating func namespace(_ ns: String, at path: String) {
        if !ns.isEmpty && !Syntax.isDNS1123Label(ns) {
            fail(
                .invalid, path, Self.quote(ns),
                "must be a DNS-1123 label: 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
            )
        }
    }

    mutating func resourceName(_ name: String, at path: String, required: Bool = true) {
        if name.isEmpty {
            if required { fail(.required, path, nil, "a resource name is required") }
        } else if !Syntax.isResourceName(name) {
            fail(
                .invalid, path, Self.quote(name),
                "must be 1-63 characters matching ^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$")
        }
    }

    mutating func pciAddress(_ address: String, at path: String) {
        if !Syntax.isPCIAddress(address) {
            fail(.invalid, path, Self.quote(address), "must be a PCI address DDDD:BB:DD.F in lowercase hex, e.g. 0000:86:00.0")
        }
    }
}
