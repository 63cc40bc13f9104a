import Testing
@testable import SriovGRPC

@Suite struct StatusCodeTests {
    @Test func allSeventeenCodesRoundTripThroughTheirHeaderValue() {
        #expect(StatusCode.allCases.count == 17)
        for code in StatusCode.allCases {
            #expect(StatusCode(headerValue: String(code.rawValue)) == code)
        }
    }

    @Test(arguments: [("17", StatusCode.unknown), ("-1", .unknown), ("abc", .unknown), ("", .unknown), ("4", .deadlineExceeded)])
    func unknownOrMalformedGrpcStatusMapsToUnknown(value: String, expected: StatusCode) {
        #expect(StatusCode(headerValue: value) == expected)
    }

    @Test(arguments: [
        (400, StatusCode.internal), (401, .unauthenticated), (403, .permissionDenied), (404, .unimplemented),
        (429, .unavailable), (502, .unavailable), (503, .unavailable), (504, .unavailable), (500, .unknown),
    ])
    func httpStatusWithoutGrpcStatusMapsAsTheSpecSays(http: Int, expected: StatusCode) {
        #expect(StatusCode(httpStatus: http) == expected)
    }

    @Test func rpcErrorNeverCarriesOK() {
        #expect(RPCError(code: .ok, message: "x").code == .unknown)
    }

    @Test func statusOfCancellationIsCancelled() {
        #expect(RPCStatus(error: CancellationError()).code == .cancelled)
        #expect(RPCStatus(error: RPCError(code: .notFound, message: "n")).code == .notFound)
    }
}

@Suite struct FramingTests {
    @Test(arguments: [0, 1, 5, 300, 70_000])
    func framedMessagesOfAnySizeComeBackWhole(size: Int) throws {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let framed = MessageFramer.frame(payload)
        #expect(framed.count == size + 5)
        #expect(framed[0] == 0)
        var d = MessageDeframer(maxMessageSize: 100_000)
        // Feed one byte at a time: a message appears only when complete.
        var got: [[UInt8]] = []
        for b in framed {
            d.append([b])
            while let m = try d.next() { got.append(m) }
        }
        #expect(got == [payload])
        try d.finish()
    }

    @Test func severalMessagesInOneChunkAreSplit() throws {
        var chunk: [UInt8] = []
        MessageFramer.appendFrame([1, 2], to: &chunk)
        MessageFramer.appendFrame([], to: &chunk)
        MessageFramer.appendFrame([3], to: &chunk)
        var d = MessageDeframer(maxMessageSize: 10)
        d.append(chunk)
        #expect(try d.next() == [1, 2])
        #expect(try d.next() == [])
        #expect(try d.next() == [3])
        #expect(try d.next() == nil)
    }

    @Test(arguments: [(10, false), (11, true)])
    func messageAtTheLimitPassesOneOverIsResourceExhausted(size: Int, rejected: Bool) throws {
        var d = MessageDeframer(maxMessageSize: 10)
        d.append(Array(MessageFramer.frame([UInt8](repeating: 7, count: size)).prefix(5)))
        if rejected {
            #expect(throws: MessageFramingError.self) { try d.next() }
            do { _ = try d.next() } catch let e as MessageFramingError { #expect(e.statusCode == .resourceExhausted) }
        } else {
            #expect(try d.next() == nil)  // prefix accepted, waiting for the body
        }
    }

    @Test(arguments: [(UInt8(1), MessageFramingError.Code.compressedWithoutEncoding), (2, .badFlag), (0x80, .badFlag)])
    func badFlagBytesAreRejected(flag: UInt8, code: MessageFramingError.Code) {
        var d = MessageDeframer(maxMessageSize: 10)
        d.append([flag, 0, 0, 0, 1, 9])
        do {
            _ = try d.next()
            Issue.record("accepted flag \(flag)")
        } catch let e as MessageFramingError {
            #expect(e.code == code)
            #expect(e.statusCode == .internal)
        } catch { Issue.record("\(error)") }
    }

    @Test(arguments: [[UInt8]([0, 0]), [0, 0, 0, 0, 3, 1]])
    func streamEndingInsideAMessageIsTruncated(bytes: [UInt8]) throws {
        var d = MessageDeframer(maxMessageSize: 10)
        d.append(bytes)
        _ = try d.next()
        #expect(throws: MessageFramingError.self) { try d.finish() }
    }
}

@Suite struct TimeoutTests {
    @Test(arguments: [
        ("1H", Int64(3_600_000_000_000)), ("2M", 120_000_000_000), ("3S", 3_000_000_000), ("4m", 4_000_000),
        ("5u", 5_000), ("6n", 6), ("99999999S", 99_999_999_000_000_000), ("0m", 0),
    ])
    func everyUnitParses(value: String, nanos: Int64) throws {
        #expect(try GRPCTimeout(headerValue: value).nanoseconds == nanos)
    }

    @Test(arguments: ["", "S", "1", "123456789S", "1s", "1.5S", "-1S", "1 S", "1h"])
    func malformedTimeoutsAreRejected(value: String) {
        #expect(throws: HeaderValidationError.self) { try GRPCTimeout(headerValue: value) }
    }

    @Test(arguments: [
        (Int64(5), "5n"), (1_000_000, "1000000n"), (100_000_000, "100000u"), (1_000_000_001, "1000001u"),
        (200_000_000_000, "200000m"), (Int64.max, "2562048H"),
    ])
    func formattingPicksTheFinestUnitThatFitsAndRoundsUp(nanos: Int64, expected: String) throws {
        let t = GRPCTimeout(nanoseconds: nanos)
        #expect(t.headerValue == expected)
        #expect(try GRPCTimeout(headerValue: t.headerValue).nanoseconds >= nanos)
    }
}

@Suite struct PercentEncodingTests {
    @Test(arguments: [
        ("plain text", "plain text"), ("100%", "100%25"), ("a\nb", "a%0Ab"), ("ünï", "%C3%BCn%C3%AF"),
        ("tab\there", "tab%09here"), ("~", "~"),
    ])
    func grpcMessageIsPercentEncodedAndDecodedBack(raw: String, encoded: String) {
        #expect(PercentEncoding.encode(raw) == encoded)
        #expect(PercentEncoding.decode(encoded) == raw)
    }

    @Test(arguments: [("%", "%"), ("%4", "%4"), ("%zz", "%zz"), ("a%41", "aA")])
    func malformedEscapesAreKeptVerbatim(encoded: String, decoded: String) {
        #expect(PercentEncoding.decode(encoded) == decoded)
    }
}

@Suite struct MetadataTests {
    @Test(arguments: [[UInt8](), [0], [0, 1], [0, 1, 2], [255, 254, 253, 0, 10]])
    func binaryValuesRoundTripThroughBase64Headers(bytes: [UInt8]) throws {
        var m = Metadata()
        m.add("trace-bin", bytes: bytes)
        let wire = try m.wireHeaders()
        #expect(wire.count == 1)
        #expect(!wire[0].1.contains("="))
        var back = Metadata()
        try back.addWireHeader(name: wire[0].0, value: wire[0].1)
        #expect(back.bytes(for: "trace-bin") == bytes)
    }

    @Test func paddedAndCommaSeparatedBinaryValuesAreAccepted() throws {
        var m = Metadata()
        try m.addWireHeader(name: "x-bin", value: "AAE=, AQI")
        #expect(m.values(for: "x-bin") == [.binary([0, 1]), .binary([1, 2])])
    }

    @Test(arguments: ["!!!", "A", "AA=A"])
    func invalidBase64InBinaryHeaderIsRejected(value: String) {
        var m = Metadata()
        #expect(throws: HeaderValidationError.self) { try m.addWireHeader(name: "x-bin", value: value) }
    }

    @Test(arguments: [":path", "content-type", "te", "grpc-timeout", "grpc-status", "grpc-message", "grpc-foo"])
    func reservedHeadersAreNotMetadata(name: String) throws {
        var m = Metadata()
        try m.addWireHeader(name: name, value: "x")
        #expect(m.isEmpty)
    }

    @Test(arguments: [("Bad Key", "v"), ("grpc-custom", "v"), ("ok-key", "new\nline"), ("", "v"), ("k", "é")])
    func invalidKeysAndValuesAreRefusedBeforeSending(key: String, value: String) {
        var m = Metadata()
        m.entries_appendRaw(key, value)
        #expect(throws: HeaderValidationError.self) { try m.wireHeaders() }
    }

    @Test func keysAreLowerCasedAndOrderKept() {
        var m = Metadata()
        m.add("X-A", "1")
        m.add("x-b", "2")
        m.add("x-a", "3")
        #expect(m["x-a"] == "1")
        #expect(m.values(for: "X-A") == [.string("1"), .string("3")])
        #expect(m.entries.map(\.key) == ["x-a", "x-b", "x-a"])
    }

    @Test(arguments: [
        ("application/grpc", true), ("application/grpc+proto", true), ("application/grpc;charset=utf-8", true),
        ("application/json", false), ("application/grpcx", false), ("text/plain", false),
    ])
    func contentTypesRecognisedAsGRPC(value: String, isGRPC: Bool) {
        #expect(HeaderValidation.isGRPCContentType(value) == isGRPC)
    }
}

extension Metadata {
    /// Appends without lower-casing, to test validation of raw keys.
    mutating func entries_appendRaw(_ key: String, _ value: String) {
        self = Metadata(rawEntries: entries + [(key, .string(value))])
    }
}
