/// Reads typed fields out of a ``CRValue`` for one object, collecting every
/// problem instead of stopping at the first one (strict decoding in the
/// manner of `kubectl --validate=strict`).
struct FieldReader {
    let kind: String
    var name: String
    private(set) var errors: [FieldError] = []

    init(kind: String, name: String = "") {
        self.kind = kind
        self.name = name
    }

    mutating func fail(_ code: FieldError.Code, _ path: String, value: String?, _ message: String) {
        errors.append(FieldError(code: code, kind: kind, name: name, path: path, value: value, message: message))
    }

    /// A short rendering of a value for messages.
    static func show(_ value: CRValue) -> String {
        switch value {
        case .string(let s): return CRValue.yamlDoubleQuoted(s)
        case .array: return "a list"
        case .object: return "an object"
        default:
            return value.jsonString()
        }
    }

    static func typeName(_ value: CRValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    private mutating func wrongType(_ path: String, _ value: CRValue, expected: String) {
        fail(.wrongType, path, value: Self.show(value), "expected \(expected), got \(Self.typeName(value))")
    }

    /// The members of an object, in order, after rejecting keys not in
    /// `accepted`. `ignored` keys are accepted and dropped. Null gives no
    /// members.
    mutating func members(
        _ value: CRValue, at path: String, accepted: [String], ignored: Set<String> = []
    ) -> [(key: String, value: CRValue)] {
        switch value {
        case .null: return []
        case .object(let pairs):
            var out: [(key: String, value: CRValue)] = []
            for pair in pairs {
                if ignored.contains(pair.key) { continue }
                guard accepted.contains(pair.key) else {
                    fail(
                        .unknownField, Self.join(path, pair.key), value: nil,
                        "unknown field \"\(pair.key)\"; accepted fields: \(accepted.joined(separator: ", "))")
                    continue
                }
                if case .null = pair.value { continue }
                out.append(pair)
            }
            return out
        default:
            wrongType(path, value, expected: "object")
            return []
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// A string field: strings as written, and the exact text of plain
    /// integer scalars (`deviceID: 1583` reads `"1583"`).
    mutating func string(_ value: CRValue, at path: String) -> String {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return CRValue.goFloatText(d) ?? "\(d)"
        case .null: return ""
        default:
            wrongType(path, value, expected: "string")
            return ""
        }
    }

    /// An integer field: only integers in `range` (as Go's `encoding/json`,
    /// `4.0` and `1e3` are not integers).
    mutating func int64(_ value: CRValue, at path: String, range: ClosedRange<Int64>) -> Int64? {
        switch value {
        case .int(let i):
            guard range.contains(i) else {
                fail(.wrongType, path, value: String(i), "integer out of range \(range.lowerBound)...\(range.upperBound)")
                return nil
            }
            return i
        case .null: return nil
        default:
            wrongType(path, value, expected: "integer")
            return nil
        }
    }

    mutating func int32(_ value: CRValue, at path: String) -> Int32? {
        int64(value, at: path, range: Int64(Int32.min)...Int64(Int32.max)).map { Int32($0) }
    }

    mutating func bool(_ value: CRValue, at path: String) -> Bool {
        switch value {
        case .bool(let b): return b
        case .null: return false
        default:
            wrongType(path, value, expected: "boolean (true or false)")
            return false
        }
    }

    mutating func stringList(_ value: CRValue, at path: String) -> [String] {
        switch value {
        case .null: return []
        case .array(let items):
            return items.enumerated().map { string($0.element, at: "\(path)[\($0.offset)]") }
        default:
            wrongType(path, value, expected: "list of strings")
            return []
        }
    }

    mutating func list(_ value: CRValue, at path: String) -> [CRValue] {
        switch value {
        case .null: return []
        case .array(let items): return items
        default:
            wrongType(path, value, expected: "list")
            return []
        }
    }

    mutating func stringMap(_ value: CRValue, at path: String) -> [String: String] {
        switch value {
        case .null: return [:]
        case .object(let pairs):
            var out: [String: String] = [:]
            for pair in pairs { out[pair.key] = string(pair.value, at: "\(path)[\(pair.key)]") }
            return out
        default:
            wrongType(path, value, expected: "map of strings")
            return [:]
        }
    }
}
