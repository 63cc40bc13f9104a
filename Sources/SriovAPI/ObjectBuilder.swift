/// Builds the ``CRValue`` of a Go struct marshalled with `omitempty` tags;
/// members come out sorted by key, as `kubectl get -o yaml` prints them.
struct ObjectBuilder {
    private var pairs: [(key: String, value: CRValue)] = []

    mutating func set(_ key: String, _ value: CRValue) { pairs.append((key, value)) }

    mutating func string(_ key: String, _ s: String, omitEmpty: Bool = true) {
        if !omitEmpty || !s.isEmpty { set(key, .string(s)) }
    }

    mutating func int<I: BinaryInteger>(_ key: String, _ i: I, omitEmpty: Bool = true) {
        if !omitEmpty || i != 0 { set(key, .int(Int64(i))) }
    }

    mutating func optionalInt<I: BinaryInteger>(_ key: String, _ i: I?) {
        if let i { set(key, .int(Int64(i))) }
    }

    mutating func bool(_ key: String, _ b: Bool) {
        if b { set(key, .bool(true)) }
    }

    mutating func strings(_ key: String, _ list: [String]) {
        if !list.isEmpty { set(key, .array(list.map { .string($0) })) }
    }

    mutating func map(_ key: String, _ map: [String: String], omitEmpty: Bool = true) {
        if omitEmpty && map.isEmpty { return }
        set(key, ObjectBuilder.sortedMap(map))
    }

    /// Adds an object or list unless it is empty (or always, when
    /// `omitEmpty` is false).
    mutating func nested(_ key: String, _ value: CRValue, omitEmpty: Bool = true) {
        if omitEmpty {
            switch value {
            case .object(let p) where p.isEmpty: return
            case .array(let a) where a.isEmpty: return
            case .null: return
            default: break
            }
        }
        set(key, value)
    }

    static func sortedMap(_ map: [String: String]) -> CRValue {
        .object(map.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, .string($0.value)) })
    }

    var value: CRValue {
        .object(pairs.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
    }
}
