import Foundation
import SriovAPI
import Testing

/// Text I/O of the generic value tree: YAML/JSON parsing, YAML and JSON
/// output.
struct CRValueTextTests {
    struct ScalarCase: CustomTestStringConvertible, Sendable {
        let text: String
        let expected: CRValue
        var testDescription: String { "plain scalar \(text.isEmpty ? "<empty>" : text)" }
    }

    @Test(
        "plain scalars keep their text unless they are canonical numbers, null or true/false",
        arguments: [
            ScalarCase(text: "1583", expected: .int(1583)),
            ScalarCase(text: "-12", expected: .int(-12)),
            ScalarCase(text: "0", expected: .int(0)),
            ScalarCase(text: "8086", expected: .int(8086)),
            ScalarCase(text: "154c", expected: .string("154c")),
            ScalarCase(text: "0000:86:00.0", expected: .string("0000:86:00.0")),
            ScalarCase(text: "007", expected: .string("007")),
            ScalarCase(text: "+5", expected: .string("+5")),
            ScalarCase(text: "0x1f", expected: .string("0x1f")),
            ScalarCase(text: "1_000", expected: .string("1_000")),
            ScalarCase(text: "99999999999999999999", expected: .string("99999999999999999999")),
            ScalarCase(text: "1.5", expected: .double(1.5)),
            ScalarCase(text: "2.5e3", expected: .double(2500)),
            // A float needs its `.` (YAML 1.1, as Kubernetes reads it): PCI IDs stay text.
            ScalarCase(text: "2e3", expected: .string("2e3")),
            ScalarCase(text: "14e4", expected: .string("14e4")),
            ScalarCase(text: "10e2", expected: .string("10e2")),
            ScalarCase(text: "1.10", expected: .double(1.1)),
            ScalarCase(text: "on", expected: .string("on")),
            ScalarCase(text: "yes", expected: .string("yes")),
            ScalarCase(text: "true", expected: .bool(true)),
            ScalarCase(text: "False", expected: .bool(false)),
            ScalarCase(text: "null", expected: .null),
            ScalarCase(text: "~", expected: .null),
            ScalarCase(text: "802.1Q", expected: .string("802.1Q")),
        ])
    func plainScalar(_ c: ScalarCase) throws {
        let docs = try CRValue.parseDocuments("k: \(c.text)\n", source: "t.yaml")
        #expect(docs == [.object([("k", c.expected)])])
    }

    @Test("quoted, block and !!str scalars are always strings")
    func quotedScalars() throws {
        let text = """
            a: "1583"
            b: '8086'
            e: !!str 1583
            c: |
              {"x": 1}
            d: |-
              two
              lines
            """
        let value = try CRValue.parseDocument(text, source: "t.yaml")
        #expect(value["a"] == .string("1583"))
        #expect(value["b"] == .string("8086"))
        #expect(value["c"] == .string("{\"x\": 1}\n"))
        #expect(value["d"] == .string("two\nlines"))
        #expect(value["e"] == .string("1583"))
    }

    @Test("a YAML stream gives one value per non-empty document, keys in order")
    func multiDocument() throws {
        let text = "---\nb: 1\na: 2\n---\n---\n- x\n- y\n...\n"
        let docs = try CRValue.parseDocuments(text, source: "s.yaml")
        #expect(docs == [.object([("b", .int(1)), ("a", .int(2))]), .array([.string("x"), .string("y")])])
    }

    @Test("JSON input: escapes, surrogate pairs, integers and doubles, key order")
    func jsonInput() throws {
        let text = #"{"z": "a\"b\\c\n\u00e9\ud83d\ude00", "n": 12, "f": 1.25, "big": 1e3, "l": [true, null], "o": {}}"#
        let value = try CRValue.parseDocument(text, source: "x.json")
        #expect(
            value
                == .object([
                    ("z", .string("a\"b\\c\né😀")), ("n", .int(12)), ("f", .double(1.25)), ("big", .double(1000)),
                    ("l", .array([.bool(true), .null])), ("o", .object([])),
                ]))
    }

    struct BadText: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        let line: Int
        let document: Int
        let reasonPart: String
        var testDescription: String { name }
    }

    @Test(
        "parse errors name the source, the document index and the line",
        arguments: [
            BadText(name: "bad indentation in the second document", text: "a: 1\n---\nb:\n  - x\n y: 2\n", line: 5, document: 1, reasonPart: "did not find expected key"),
            BadText(name: "duplicate key, reported where it repeats, naming the first line", text: "x: 0\na: 1\nb: 2\na: 3\n", line: 4, document: 0, reasonPart: "duplicate key \"a\" (first set at line 2)"),
            BadText(name: "JSON missing comma", text: "{\"a\": 1\n \"b\": 2}", line: 2, document: 0, reasonPart: "expected ','"),
        ])
    func parseErrors(_ c: BadText) {
        do {
            _ = try CRValue.parseDocuments(c.text, source: "in.yaml")
            Issue.record("expected a parse error")
        } catch let error as CRParseError {
            #expect(error.source == "in.yaml")
            #expect(error.line == c.line)
            #expect(error.documentIndex == c.document)
            #expect(error.reason.contains(c.reasonPart))
            #expect(error.description.hasPrefix("in.yaml:\(c.line)"))
        } catch {
            Issue.record("unexpected error \(type(of: error)): \(error)")
        }
    }

    @Test("the seed's 2019 node state, copied verbatim, is reported as bad YAML with its line")
    func verbatimSeedNodeStateIsInvalid() throws {
        let text = try String(contentsOfFile: RepoPathsShim.path("examples/seed-nodestate/nodestate-2019-verbatim.yaml"), encoding: .utf8)
        #expect(throws: CRParseError.self) { try CRValue.parseDocuments(text, source: "nodestate-2019-verbatim.yaml") }
    }

    static let sample: CRValue = .object([
        ("name", .string("x<y>&z")),
        ("count", .int(3)),
        ("ratio", .double(0.5)),
        ("tiny", .double(1e-7)),
        ("huge", .double(1e21)),
        ("whole", .double(100)),
        ("ok", .bool(true)),
        ("none", .null),
        ("empty", .object([])),
        ("list", .array([.int(1), .string("tab\there"), .array([])])),
        ("ctl", .string("\u{01}\"\\é")),
    ])

    @Test("JSON with an indent has exactly Go's json.Indent layout")
    func jsonIndentPinned() {
        let expected = """
            {
                "name": "x<y>&z",
                "count": 3,
                "ratio": 0.5,
                "tiny": 1e-7,
                "huge": 1e+21,
                "whole": 100,
                "ok": true,
                "none": null,
                "empty": {},
                "list": [
                    1,
                    "tab\\there",
                    []
                ],
                "ctl": "\\u0001\\"\\\\é"
            }
            """
        #expect(Self.sample.jsonString(indent: 4) == expected)
    }

    @Test("compact JSON has no spaces and reads back to the same value")
    func jsonCompact() throws {
        let text = Self.sample.jsonString()
        #expect(text.hasPrefix(#"{"name":"x<y>&z","count":3,"ratio":0.5,"#))
        #expect(!text.contains("\n"))
        // 100.0 prints as 100 (as Go does) and so reads back as an integer.
        guard case .object(var pairs) = Self.sample else { return }
        if let i = pairs.firstIndex(where: { $0.key == "whole" }) { pairs[i].value = .int(100) }
        #expect(try CRValue.parseDocument(text, source: "c.json") == .object(pairs))
    }

    @Test(
        "strings that YAML would read as something else are quoted and read back unchanged",
        arguments: [
            "1583", "8086", "0000:86:00.0", "154c", "true", "on", "off", "yes", "no", "y", "null", "~", "", " lead",
            "trail ", "a: b", "a #c", "-x", "- x", "#x", "*x", "&x", "!x", "{x}", "[x]", "0x10", "1e3", "1.5", ".inf",
            "12:30", "2019-05-21", "007", "+1", "1_000", "plain text", "é ü", "a\"b", "back\\slash", "tab\tin",
            "cr\rin", "\u{7}bell", "line1\nline2", "trailing newline\n", "two trailing\n\n", " indented\nblock",
            "\n\n", "{\n  \"type\": \"host-local\"\n}\n", "802.1Q", "intel_nics_1", "feature.node.kubernetes.io/x",
        ])
    func yamlStringRoundTrip(_ s: String) throws {
        let value = CRValue.object([("k", .string(s)), ("list", .array([.string(s)]))])
        let text = value.yamlString()
        #expect(try CRValue.parseDocument(text, source: "rt.yaml") == value, "YAML was:\n\(text)")
    }

    @Test("YAML output: kubectl layout with unindented lists, literal blocks and quoted look-alikes")
    func yamlPinned() {
        let value = CRValue.object([
            ("apiVersion", .string("v1")),
            ("spec", .object([
                ("ipam", .string("{\n  \"type\": \"dhcp\"\n}\n")),
                ("note", .string("a\nb")),
                ("deviceID", .string("1583")),
                ("rootDevices", .array([.string("0000:86:00.0")])),
                ("items", .array([.object([("a", .int(1)), ("b", .object([("c", .bool(false))]))]), .object([])])),
                ("empty", .array([])),
                ("rate", .double(2)),
            ])),
        ])
        let expected = """
            apiVersion: v1
            spec:
              ipam: |
                {
                  "type": "dhcp"
                }
              note: |-
                a
                b
              deviceID: "1583"
              rootDevices:
              - 0000:86:00.0
              items:
              - a: 1
                b:
                  c: false
              - {}
              empty: []
              rate: 2.0

            """
        #expect(value.yamlString() == expected)
    }

    @Test("YAML output of nested lists and odd keys reads back unchanged")
    func yamlStructureRoundTrip() throws {
        let value = CRValue.object([
            ("matrix", .array([.array([.int(1), .int(2)]), .array([.object([("x", .null)])])])),
            ("odd key: yes", .string("v")),
            ("1583", .bool(true)),
            ("d", .double(-0.25)),
        ])
        #expect(try CRValue.parseDocument(value.yamlString(), source: "n.yaml") == value)
    }
}
