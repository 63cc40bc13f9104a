extension Validation {
    /// Checks a `v1 Node` as the renderer reads it: metadata.name is a
    /// DNS-1123 subdomain (it becomes a node state's name and a ConfigMap
    /// key), each label key a qualified name (an optional DNS-1123 subdomain
    /// prefix and `/`, then at most 63 alphanumerics, `-`, `_` and `.`) and
    /// each label value at most 63 such characters, as Kubernetes requires.
    public static func validate(_ node: KubeNode) -> [FieldError] {
        var c = Checker(kind: CRCodec.Kind.node, name: node.name)
        c.objectName(node.name, at: "metadata.name")
        c.labels(node.labels, at: "metadata.labels")
        return c.errors
    }
}

extension Checker {
    /// Kubernetes' label rules for every key and value of `labels`, in key order.
    mutating func labels(_ labels: [String: String], at path: String) {
        for key in labels.keys.sorted() {
            let p = "\(path)[\(FieldReader.pathKey(key))]"
            if let problem = Syntax.labelKeyProblem(key) { fail(.invalid, p, Self.quote(key), problem) }
            if let value = labels[key], !Syntax.isLabelValue(value) {
                fail(
                    .invalid, p, Self.quote(value),
                    "a label value must be empty or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
            }
        }
    }
}

extension Syntax {
    /// Whether `text` is a Kubernetes label value: empty, or 1–63 characters
    /// of letters, digits, `-`, `_` and `.`, starting and ending with a letter
    /// or digit.
    public static func isLabelValue(_ text: String) -> Bool {
        text.isEmpty || isQualifiedNamePart(text)
    }

    /// What is wrong with a label key, or nil when it is a qualified name:
    /// `[prefix/]name`, the prefix a DNS-1123 subdomain, the name a label
    /// value that is not empty.
    public static func labelKeyProblem(_ text: String) -> String? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts.last ?? "")
        if parts.count == 2 && !isDNS1123Subdomain(String(parts[0])) {
            return "the prefix of a label key must be a DNS-1123 subdomain (at most 253 lowercase letters, digits, '-' and '.')"
        }
        if !isQualifiedNamePart(name) {
            return "a label key's name must be 1-63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        }
        return nil
    }

    private static func isQualifiedNamePart(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard let first = b.first, let last = b.last, b.count <= 63 else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A)
        }
        return alnum(first) && alnum(last)
            && b.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }
}
