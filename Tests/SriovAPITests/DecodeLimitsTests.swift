import SriovAPI
import Testing

/// Hostile and careless inputs, generated small: each fails at once with an
/// error naming the limit and where it was hit, or is read exactly as written.
struct DecodeLimitsTests {
    static let nodeHeader = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"

    static func parseError(_ text: String, limits: DecodeLimits = .defaults) -> CRParseError? {
        do {
            _ = try CRCodec.decodeObjects(from: text, source: "in.yaml", limits: limits)
            return nil
        } catch let error as CRParseError {
            return error
        } catch {
            Issue.record("unexpected \(type(of: error)): \(error)")
            return nil
        }
    }

    static func fieldErrors(_ text: String, limits: DecodeLimits = .defaults, validate: Bool = false) -> FieldErrorList? {
        do {
            _ = try CRCodec.decodeObjects(from: text, source: "in.yaml", limits: limits, validate: validate)
            return nil
        } catch let list as FieldErrorList {
            return list
        } catch {
            Issue.record("unexpected \(type(of: error)): \(error)")
            return nil
        }
    }

    struct AliasCase: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let line: Int
        let reason: String
        var testDescription: String { name }
    }

    static func chain(_ n: Int, width: Int) -> String {
        var text = nodeHeader + "a0: &a0 [x]\n"
        for i in 1..<n {
            text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: width).joined(separator: ", ") + "]\n"
        }
        return text
    }

    @Test(
        "aliasing is refused before anything is expanded, naming the alias and its line",
        arguments: [
            AliasCase(
                name: "billion laughs (9 levels x 10)", text: chain(10, width: 10), line: 8,
                reason: "excessive aliasing: alias *a3 would expand the document to more than 10 times its 20 nodes (plus 10000)"),
            AliasCase(
                name: "doubling chain of 40", text: chain(41, width: 2), line: 15,
                reason: "excessive aliasing: alias *a10 would expand the document to more than 10 times its 34 nodes"),
            AliasCase(
                name: "alias chain of 1,000", text: chain(1_000, width: 1), line: 166,
                reason: "excessive aliasing: alias *a161 would expand the document"),
            AliasCase(
                name: "an expanded alias used as a mapping key", text: chain(30, width: 2) + "? *a29\n: x\n", line: 15,
                reason: "excessive aliasing"),
            AliasCase(
                name: "a collection alias as a mapping key", text: nodeHeader + "a: &a [1]\n? *a\n: x\n", line: 5,
                reason: "a mapping key must be a scalar"),
            AliasCase(
                name: "anchors nesting 300 levels each compose past the depth limit",
                text: nodeHeader + "x0: &a0 " + String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
                    + "\nx1: &a1 " + String(repeating: "[", count: 300) + "*a0" + String(repeating: "]", count: 300) + "\n",
                line: 5, reason: "nesting deeper than 512 levels through alias *a0"),
            AliasCase(
                name: "plain nesting past the limit",
                text: nodeHeader + "x: " + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "\n",
                line: 4, reason: "nesting deeper than 512 levels"),
            AliasCase(
                name: "an alias to no anchor", text: nodeHeader + "x: *nope\n", line: 4,
                reason: "alias *nope refers to no anchor defined before it"),
        ])
    func aliasLimits(_ c: AliasCase) {
        guard let error = Self.parseError(c.text) else {
            Issue.record("expected a parse error")
            return
        }
        #expect(error.line == c.line, "\(error)")
        #expect(error.reason.hasPrefix(c.reason), "\(error)")
        #expect(error.description.hasPrefix("in.yaml:\(c.line):"), "\(error)")
    }

    @Test("the alias count has its own limit")
    func aliasCount() {
        var limits = DecodeLimits.defaults
        limits.maxAliases = 3
        let text = Self.nodeHeader + "a: &a x\nb: [*a, *a, *a, *a]\n"
        #expect(Self.parseError(text, limits: limits)?.reason == "excessive aliasing: more than 3 aliases in one document")
    }

    @Test("a few shared anchors are fine: aliases share the anchored value")
    func modestAliases() throws {
        let text = """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Node
              metadata: {name: n1, labels: &common {sriov: "true", zone: a}}
            - apiVersion: v1
              kind: Node
              metadata: {name: n2, labels: *common}
            """
        let objects = try CRCodec.decodeObjects(from: text, source: "in.yaml")
        #expect(objects == [.node(KubeNode(name: "n1", labels: ["sriov": "true", "zone": "a"])),
                            .node(KubeNode(name: "n2", labels: ["sriov": "true", "zone": "a"]))])
    }

    @Test("merge keys merge what the mapping does not set, the first merged mapping winning")
    func mergeKeys() throws {
        let text = """
            base: &base {a: 1, b: 2}
            other: &other {b: 3, c: 4}
            m:
              <<: [*base, *other]
              a: 9
            """
        let value = try CRValue.parseDocument(text, source: "in.yaml")
        #expect(value["m"] == .object([("b", .int(2)), ("c", .int(4)), ("a", .int(9))]))
        #expect(throws: CRParseError.self) { try CRValue.parseDocument("m: {<<: 3}", source: "in.yaml") }
    }

    @Test("tags: the core ones are honoured, others are errors")
    func tags() throws {
        let value = try CRValue.parseDocument("a: !!str 1.10\nb: !!int \"12\"\nc: !!bool true\nd: !!float 2\n", source: "t")
        #expect(value == .object([("a", .string("1.10")), ("b", .int(12)), ("c", .bool(true)), ("d", .double(2))]))
        #expect(throws: CRParseError.self) { try CRValue.parseDocument("a: !!binary aGVsbG8=\n", source: "t") }
        #expect(throws: CRParseError.self) { try CRValue.parseDocument("a: !custom x\n", source: "t") }
        #expect(throws: CRParseError.self) { try CRValue.parseDocument("a: !!int x\n", source: "t") }
    }

    struct SizeCase: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let limits: DecodeLimits
        let reason: String
        var testDescription: String { name }
    }

    static func limits(_ change: (inout DecodeLimits) -> Void) -> DecodeLimits {
        var l = DecodeLimits.defaults
        change(&l)
        return l
    }

    @Test(
        "sizes: input, document and scalar limits fail before the work, without echoing the input",
        arguments: [
            SizeCase(
                name: "input size", text: nodeHeader + String(repeating: "# pad\n", count: 100),
                limits: limits { $0.maxInputBytes = 100 }, reason: "input of 647 bytes is larger than the limit of 100 bytes"),
            SizeCase(
                name: "document size", text: nodeHeader + "x: [" + String(repeating: "1, ", count: 100) + "]\n",
                limits: limits { $0.maxDocumentBytes = 100 },
                reason: "document larger than the limit of 100 bytes; split it into smaller documents"),
            SizeCase(
                name: "YAML scalar", text: nodeHeader + "x: " + String(repeating: "a", count: 2_000) + "\n",
                limits: limits { $0.maxScalarBytes = 1_000 },
                reason: "a scalar of 2000 bytes is longer than the limit of 1000 bytes"),
            SizeCase(
                name: "JSON string", text: "{\"kind\": \"" + String(repeating: "a", count: 2_000) + "\"}",
                limits: limits { $0.maxScalarBytes = 1_000 }, reason: "a string longer than the limit of 1000 bytes"),
            SizeCase(
                name: "JSON nesting", text: String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
                limits: .defaults, reason: "nesting deeper than 512 levels"),
        ])
    func sizeLimits(_ c: SizeCase) {
        let error = Self.parseError(c.text, limits: c.limits)
        #expect(error?.reason == c.reason, "\(String(describing: error))")
        #expect((error?.description.utf8.count ?? 0) < 200)
    }

    @Test("objects per List are bounded before the items are decoded")
    func listItems() {
        let items = (0..<5).map { "- {apiVersion: v1, kind: Node, metadata: {name: n\($0)}}" }.joined(separator: "\n")
        let errors = Self.fieldErrors("apiVersion: v1\nkind: List\nitems:\n\(items)\n", limits: Self.limits { $0.maxListItems = 4 })
        #expect(errors?.errors.map(\.description) == [
            "in.yaml (document 0), line 3: List: items: 5 items bring the input past the limit of 4 objects in Lists; split the input"
        ])
    }

    @Test("errors are capped with a count of the others, located in one pass")
    func errorCap() {
        let text = "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkNodePolicy\nmetadata: {name: p1}\nspec:\n"
            + (0..<5_000).map { "  unknown\($0): 1\n" }.joined()
        guard let list = Self.fieldErrors(text) else {
            Issue.record("expected errors")
            return
        }
        #expect(list.errors.count == 100)
        #expect(list.omitted == 4_900)
        #expect(list.errors.map(\.line) == (0..<100).map { Optional($0 + 5) })
        #expect(list.lines.last == "and 4900 more errors")
    }

    @Test("a long bad value is quoted by a short prefix and its size")
    func shortQuotes() {
        let name = String(repeating: "N", count: 10_000)
        let text = "apiVersion: v1\nkind: Node\nmetadata: {name: \(name)}\n"
        let errors = Self.fieldErrors(text, validate: true)
        let description = errors?.errors.first?.description ?? ""
        #expect(description.contains("\"" + String(repeating: "N", count: 64) + "\"… (10000 bytes)"), "\(description.prefix(300))")
        #expect(description.utf8.count < 400)
    }

    struct ScalarTextCase: CustomTestStringConvertible, Sendable {
        let name: String
        let field: String
        let path: String
        let expected: String?
        var testDescription: String { name }
    }

    @Test(
        "string fields get the scalar as written; a number there is an error, never a different string",
        arguments: [
            ScalarTextCase(name: "vendor 14e4 stays 14e4", field: "nicSelector: {vendor: 14e4}", path: "spec.nicSelector.vendor", expected: nil),
            ScalarTextCase(name: "deviceID 10e2 stays 10e2", field: "nicSelector: {deviceID: 10e2}", path: "spec.nicSelector.deviceID", expected: nil),
            ScalarTextCase(
                name: "a label value 1.10 is a number", field: "nodeSelector: {os-version: 1.10}",
                path: "spec.nodeSelector[os-version]", expected: "expected string, got number"),
            ScalarTextCase(
                name: "an unquoted integer for a string", field: "nicSelector: {deviceID: 1583}",
                path: "spec.nicSelector.deviceID", expected: "expected string, got number; quote it (\"1583\")"),
        ])
    func scalarText(_ c: ScalarTextCase) throws {
        let text = """
            apiVersion: sriovnetwork.openshift.io/v1
            kind: SriovNetworkNodePolicy
            metadata: {name: p1}
            spec:
              \(c.field)
            """
        if let expected = c.expected {
            let errors = Self.fieldErrors(text)?.errors ?? []
            #expect(errors.map(\.path) == [c.path])
            #expect(errors.first?.description.contains(expected) == true, "\(errors)")
        } else {
            let objects = try CRCodec.decodeObjects(from: text, source: "in.yaml")
            guard case .policy(let p) = objects.first else {
                Issue.record("expected a policy")
                return
            }
            #expect(p.spec.nicSelector.vendor == (c.field.contains("14e4") ? "14e4" : ""))
            #expect(p.spec.nicSelector.deviceID == (c.field.contains("10e2") ? "10e2" : ""))
        }
    }

    @Test("empty and comment-only input is an error unless allowed")
    func emptyInput() throws {
        for text in ["", "# only a comment\n", "---\n...\n"] {
            #expect(Self.parseError(text)?.reason == "no objects in the input (it is empty or holds only comments)")
            #expect(try CRCodec.decodeObjects(from: text, source: "in.yaml", allowEmpty: true).isEmpty)
        }
    }

    @Test("invalid UTF-8 names its line, column and byte offset")
    func invalidUTF8() {
        let bytes = Array("apiVersion: v1\nkind: No".utf8) + [0xFF] + Array("de\n".utf8)
        do {
            _ = try CRCodec.decodeObjects(fromUTF8: bytes, source: "in.yaml")
            Issue.record("expected an error")
        } catch let error as CRParseError {
            #expect(error.description == "in.yaml:2:9: invalid UTF-8 at byte offset 23 (byte 0xff); the input must be UTF-8 text")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("flow YAML that is not JSON is read as YAML under the same limits; text that is neither names both readers")
    func flowDocuments() throws {
        let objects = try CRCodec.decodeObjects(from: "{apiVersion: v1, kind: Node, metadata: {name: 'n1'},}", source: "in.yaml")
        #expect(objects == [.node(KubeNode(name: "n1"))])
        let error = Self.parseError("{\"a\": [1, }")
        #expect(error?.reason.hasPrefix("invalid JSON: ") == true)
        #expect(error?.reason.contains("; as YAML at 1:") == true, "\(String(describing: error))")
    }

    @Test("kind: a non-string is a type error; a List's other fields are rejected")
    func kinds() {
        #expect(Self.fieldErrors("kind: [Node]\n")?.errors.first?.message.hasPrefix("expected string, got list") == true)
        let list = Self.fieldErrors("apiVersion: v1\nkind: List\nitems: []\nspec: {}\n")?.errors ?? []
        #expect(list.map(\.path) == ["spec"])
        #expect(list.first?.code == .unknownField)
    }

    @Test("Nodes are validated: name and labels, located by file and line")
    func nodeValidation() {
        let text = "apiVersion: v1\nkind: Node\nmetadata:\n  name: Bad Name\n  labels:\n    ok: \"yes\"\n    \"bad key!\": x\n"
        let errors = Self.fieldErrors(text, validate: true)?.errors ?? []
        #expect(errors.map(\.path) == ["metadata.name", "metadata.labels[bad key!]"])
        #expect(errors.map(\.line) == [4, 7])
        #expect(errors.first?.description.hasPrefix("in.yaml (document 0), line 4: Node \"Bad Name\": metadata.name:") == true)
    }
}
