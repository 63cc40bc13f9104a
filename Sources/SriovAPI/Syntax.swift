/// Syntax checks shared by validation and the renderer. Pure functions on
/// strings; each `…Problem` function returns nil when the text is valid and
/// otherwise says what is accepted.
public enum Syntax {
    private static func isLowerHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
    }

    private static func isHex(_ c: UInt8) -> Bool {
        isLowerHex(c) || (c >= 0x41 && c <= 0x46)
    }

    /// A PCI address as sysfs writes it: `DDDD:BB:DD.F`, lowercase hex, domain
    /// 4 digits, bus 2, device 2 (00–1f), function 0–7.
    public static func isPCIAddress(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 12, b[4] == UInt8(ascii: ":"), b[7] == UInt8(ascii: ":"), b[10] == UInt8(ascii: ".") else {
            return false
        }
        for i in [0, 1, 2, 3, 5, 6, 8, 9] where !isLowerHex(b[i]) { return false }
        guard b[8] == UInt8(ascii: "0") || b[8] == UInt8(ascii: "1") else { return false }
        return b[11] >= UInt8(ascii: "0") && b[11] <= UInt8(ascii: "7")
    }

    /// A PCI vendor or device ID: exactly four lowercase hex digits (`8086`,
    /// `15b3`, `154c`), as sysfs writes them without the `0x`.
    public static func isHexID(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return b.count == 4 && b.allSatisfy(isLowerHex)
    }

    /// A Kubernetes DNS-1123 subdomain (object names): at most 253
    /// characters, lowercase letters, digits, `-` and `.`, each dot-separated
    /// part starting and ending with a letter or digit.
    public static func isDNS1123Subdomain(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabelBody(Substring($0)) }
    }

    /// A Kubernetes DNS-1123 label (namespaces): 1–63 characters, lowercase
    /// letters, digits and `-`, starting and ending with a letter or digit.
    public static func isDNS1123Label(_ text: String) -> Bool {
        text.utf8.count <= 63 && isLabelBody(Substring(text))
    }

    private static func isLabelBody(_ s: Substring) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, let last = b.last else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) }
        return alnum(first) && alnum(last) && b.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// Upstream's resource name rule: 1–63 characters matching
    /// `^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$`.
    public static func isResourceName(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard let first = b.first, let last = b.last, b.count <= 63 else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A)
        }
        return alnum(first) && alnum(last)
            && b.allSatisfy { alnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// A VF index range `first-last` of two decimal integers with
    /// first ≤ last, as in `vfRange` and after `#` in `pfNames`.
    public static func parseVFRange(_ text: Substring) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = decimal(parts[0]), let last = decimal(parts[1]), first <= last else {
            return nil
        }
        return first...last
    }

    /// ``parseVFRange(_:)`` for a `String`.
    public static func parseVFRange(_ text: String) -> ClosedRange<Int>? { parseVFRange(Substring(text)) }

    private static func decimal(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.utf8.count <= 9, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(s)
    }

    /// What is wrong with a `nicSelector.netFilter`, or nil when it is
    /// `openstack/NetworkID:<uuid>` (8-4-4-4-12 hex) or `aws/NetworkID:<id>`
    /// (letters, digits and `-`).
    public static func netFilterProblem(_ text: String) -> String? {
        let accepted = "accepted: openstack/NetworkID:<uuid> or aws/NetworkID:<id>"
        if text.hasPrefix("openstack/NetworkID:") {
            let id = Array(text.utf8.dropFirst("openstack/NetworkID:".utf8.count))
            let groups = id.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false).map(\.count)
            guard groups == [8, 4, 4, 4, 12], id.allSatisfy({ isHex($0) || $0 == UInt8(ascii: "-") }) else {
                return "the OpenStack network ID must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); \(accepted)"
            }
            return nil
        }
        if text.hasPrefix("aws/NetworkID:") {
            let id = text.utf8.dropFirst("aws/NetworkID:".utf8.count)
            guard !id.isEmpty,
                id.allSatisfy({ isHex($0) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || $0 == 0x2D })
            else {
                return "the AWS network ID must be letters, digits and '-'; \(accepted)"
            }
            return nil
        }
        return accepted
    }

    /// What is wrong with a string that must hold one JSON object (`ipam`,
    /// `capabilities`), or nil when it does.
    public static func jsonObjectProblem(_ text: String) -> String? {
        do {
            let value = try JSONReader.parse(text, source: "")
            guard case .object = value else { return "must be a JSON object ({...})" }
            return nil
        } catch {
            return "must be a JSON object: \(error.error.reason) at line \(error.error.line ?? 0)"
        }
    }

    /// What is wrong with `metaPlugins`, or nil when it is one or more JSON
    /// objects separated by commas (upstream splices it into a JSON list).
    public static func metaPluginsProblem(_ text: String) -> String? {
        do {
            let value = try JSONReader.parse("[" + text + "]", source: "")
            guard case .array(let items) = value, !items.isEmpty,
                items.allSatisfy({ if case .object = $0 { true } else { false } })
            else { return "must be one or more JSON objects separated by commas" }
            return nil
        } catch {
            return "must be one or more JSON objects separated by commas"
        }
    }
}
