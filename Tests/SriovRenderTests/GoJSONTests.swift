import SriovAPI
import Testing
@testable import SriovRender

/// GoJSON's encoder is SriovAPI's JSON writer with Go's string escaping.
struct GoJSONTests {
    static let sample = CRValue.object([
        ("name", .string("a<b>&c")),
        ("list", .array([.int(1), .bool(true), .null, .double(0.5), .double(1e-7), .double(1e21)])),
        ("empty", .object([])),
        ("none", .array([])),
        ("nested", .object([("k", .string("v\n"))])),
    ])

    @Test func layoutAndNumbersAreSriovAPIs() {
        // With nothing to escape differently, both writers give the same text.
        let plain = CRValue.object([
            ("list", .array([.int(-3), .double(0.25), .double(1e-7), .double(123_456_789_012), .bool(false)])),
            ("nested", .object([("k", .string("v")), ("e", .object([])), ("a", .array([]))])),
        ])
        #expect(GoJSON.encode(plain) == plain.jsonString())
        #expect(GoJSON.encode(plain, indent: "    ") == plain.jsonString(indent: 4))
    }

    @Test func stringsAreEscapedAsGoDoes() {
        #expect(GoJSON.encode(Self.sample) == #"{"name":"a\u003cb\u003e\u0026c","list":[1,true,null,0.5,1e-7,1e+21],"empty":{},"none":[],"nested":{"k":"v\n"}}"#)
        #expect(GoJSON.encode(.string("\u{08}\u{2028}")) == #""\u0008\u2028""#)
    }
}
