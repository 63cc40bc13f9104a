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

    /// A short rendering of a value for messages: at most
    /// ``DecodeLimits/maxQuotedValueLength`` characters of a string.
    static func show(_ value: CRValue) -> String {
        switch value {
        case .string(let s): return quote(s)
        case .array: return "a list"
        case .object: return "an object"
        default:
            return value.jsonString()
        }
    }

    /// A string quoted for a message, cut to its first
    /// ``DecodeLimits/maxQuotedValueLength`` characters.
    static func quote(_ s: String) -> String {
        CRValue.quotedPrefix(s, limit: DecodeLimits.defaults.maxQuotedValueLength)
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
                        .unknownField, Self.join(path, Self.pathKey(pair.key)), value: nil,
                        "unknown field \(Self.quote(pair.key)); accepted fields: \(accepted.joined(separator: ", "))")
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

    /// A key as it goes into a field path: cut like a quoted value, so that
    /// a huge unknown key is not echoed whole.
    static func pathKey(_ key: String) -> String {
        let limit = DecodeLimits.defaults.maxQuotedValueLength
        return key.utf8.count <= limit ? key : String(key.prefix(limit)) + "…"
    }

    /// A string field: the scalar exactly as written. A number is an error,
    /// as in Kubernetes (whose schema rejects `deviceID: 1583` unquoted), so
    /// that no number is ever turned back into a different string (`1.10`
    /// into `1.1`).
    mutating func string(_ value: CRValue, at path: String) -> String {
        switch value {
        case .string(let s): return s
        case .int, .double:
            fail(
                .wrongType, path, value: Self.show(value),
                "expected string, got number; quote it (\"\(Self.show(value))\") to keep it a string")
            return ""
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
            for pair in pairs { out[pair.key] = string(pair.value, at: "\(path)[\(Self.pathKey(pair.key))]") }
            return out
        default:
            wrongType(path, value, expected: "map of strings")
            return [:]
        }
    }
}
