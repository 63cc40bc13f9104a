/// Collects the problems of one object.
struct Checker {
    let kind: String
    let name: String
    var errors: [FieldError] = []

    mutating func fail(_ code: FieldError.Code, _ path: String, _ value: String?, _ message: String) {
        errors.append(FieldError(code: code, kind: kind, name: name, path: path, value: value, message: message))
    }

    /// A value quoted for a message, cut to its first
    /// ``DecodeLimits/maxQuotedValueLength`` characters.
    static func quote(_ s: String) -> String { FieldReader.quote(s) }

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
