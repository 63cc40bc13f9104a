/// A JSON/YAML value tree that keeps the order of object keys.
///
/// Every Kubernetes-shaped document (custom resources, Nodes, Lists,
/// ConfigMaps, NetworkAttachmentDefinitions) passes through this tree between
/// its text form (YAML or JSON) and its typed form, so key order, integer
/// versus float and the exact spelling of scalars survive.
public indirect enum CRValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// An integer that fits in 64 bits.
    case int(Int64)
    /// A non-integer number.
    case double(Double)
    case string(String)
    case array([CRValue])
    /// Keys in document order; keys are unique.
    case object([(key: String, value: CRValue)])

    public static func == (lhs: CRValue, rhs: CRValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.double(a), .double(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let v): hasher.combine(v)
        case .int(let v): hasher.combine(v)
        case .double(let v): hasher.combine(v)
        case .string(let v): hasher.combine(v)
        case .array(let v): hasher.combine(v)
        case .object(let v):
            for (key, value) in v {
                hasher.combine(key)
                hasher.combine(value)
            }
        }
    }

    /// The value under `key` of an object; nil for other kinds or a missing key.
    public subscript(key: String) -> CRValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }
}
