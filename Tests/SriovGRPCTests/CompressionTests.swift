import Foundation
@testable import SriovGRPC
import Testing

/// gzip message encoding: the codec, the deframer, and both ends over loopback.
@Suite(.timeLimit(.minutes(2)))
struct CompressionTests {
    static func pseudoRandom(_ n: Int, seed: UInt64 = 42) -> [UInt8] {
        var x = seed
        return (0..<n).map { _ in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: x >> 33)
        }
    }

    @Test(arguments: [0, 1, 100, 70_000, 300_000])
    func gzipRoundTrips(size: Int) throws {
        for input in [Self.pseudoRandom(size), [UInt8](repeating: 7, count: size)] {
            let compressed = try Gzip.compress(input)
            #expect(compressed.prefix(2) == [0x1f, 0x8b], "gzip magic")
            let back = try compressed.withUnsafeBytes { try Gzip.decompress($0, limit: max(size, 1)) }
            #expect(back == input)
        }
    }

    @Test func gzipAgreesWithTheGzipTool() async throws {
        // The system gzip decompresses what we compress, and we decompress what it writes.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-gzip-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = Array("SR-IOV virtual functions, ".utf8) + Self.pseudoRandom(5000)
        try Data(Gzip.compress(input)).write(to: URL(fileURLWithPath: dir + "/ours.gz"))
        #expect(try await ProcessRunner.run("/bin/gzip", ["-d", dir + "/ours.gz"]).status == 0)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/ours"))) == input)
        try Data(input).write(to: URL(fileURLWithPath: dir + "/plain"))
        #expect(try await ProcessRunner.run("/bin/gzip", ["-k", dir + "/plain"]).status == 0)
        let gz = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/plain.gz")))
        #expect(try gz.withUnsafeBytes { try Gzip.decompress($0, limit: 10_000) } == input)
    }

    @Test func aSmallMessageThatInflatesPastTheLimitIsRefused() throws {
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 5 * 1024 * 1024))
        #expect(bomb.count < 10_000)
        #expect(throws: GzipError.tooLarge(limit: 4 * 1024 * 1024)) {
            try bomb.withUnsafeBytes { try Gzip.decompress($0, limit: 4 * 1024 * 1024) }
        }
        // Exactly at the limit is fine.
        let atLimit = try Gzip.compress([UInt8](repeating: 0, count: 1000))
        #expect(try atLimit.withUnsafeBytes { try Gzip.decompress($0, limit: 1000) }.count == 1000)
        #expect(throws: GzipError.tooLarge(limit: 999)) {
            try atLimit.withUnsafeBytes { try Gzip.decompress($0, limit: 999) }
        }
    }

    @Test func corruptTruncatedAndTrailingInputIsRefused() throws {
        let good = try Gzip.compress(Self.pseudoRandom(2000))
        var corrupt = good
        for i in 20..<40 { corrupt[i] ^= 0x5a }
        #expect(throws: GzipError.self) { try corrupt.withUnsafeBytes { try Gzip.decompress($0, limit: 10_000) } }
        let truncated = Array(good.dropLast(10))
        #expect(throws: GzipError.truncated) { try truncated.withUnsafeBytes { try Gzip.decompress($0, limit: 10_000) } }
        let trailing = good + [1, 2, 3]
        #expect(throws: GzipError.trailingBytes(3)) { try trailing.withUnsafeBytes { try Gzip.decompress($0, limit: 10_000) } }
        let notGzip: [UInt8] = Array("plain text, not gzip".utf8)
        #expect(throws: GzipError.self) { try notGzip.withUnsafeBytes { try Gzip.decompress($0, limit: 10_000) } }
    }

    @Test func deframerInflatesFlaggedMessagesOnAGzipStreamInAnyChunking() throws {
        let a = Self.pseudoRandom(3000), b = [UInt8](repeating: 9, count: 4000), c: [UInt8] = [1, 2, 3]
        var wire = MessageCompression.gzip().frame(a)
        wire += MessageFramer.frame(b)  // uncompressed messages are allowed on a gzip stream
        wire += MessageCompression.gzip(minimumSize: 10).frame(c)  // below the minimum: flag 0
        #expect(wire[wire.count - 8] == 0)
        for chunk in [1, 7, 4096, wire.count] {
            var d = MessageDeframer(maxMessageSize: 10_000)
            d.encoding = .gzip
            var got: [[UInt8]] = []
            var i = 0
            while i < wire.count {
                d.append(Array(wire[i..<min(i + chunk, wire.count)]))
                while let m = try d.next() { got.append(m) }
                i += chunk
            }
            try d.finish()
            #expect(got == [a, b, c], "chunk \(chunk)")
        }
    }

    @Test func deframerMapsInflationFailuresToStatuses() throws {
        var d = MessageDeframer(maxMessageSize: 1000)
        d.encoding = .gzip
        d.append(MessageCompression.gzip().frame([UInt8](repeating: 0, count: 1001)))
        #expect(throws: MessageFramingError.self) { try d.next() }
        do { _ = try d.next() } catch let e as MessageFramingError {
            #expect(e.code == .decompressedTooLarge)
            #expect(e.statusCode == .resourceExhausted)
        }
        var bad = MessageDeframer(maxMessageSize: 1000)
        bad.encoding = .gzip
        var framed: [UInt8] = []
        MessageFramer.appendFrame(Array("not gzip".utf8), compressed: true, to: &framed)
        bad.append(framed)
        do {
            _ = try bad.next()
            Issue.record("corrupt data was accepted")
        } catch let e as MessageFramingError {
            #expect(e.code == .corruptCompressed)
            #expect(e.statusCode == .internal)
            #expect(e.description.contains("could not be decompressed"))
        }
    }

    @Test(arguments: [("gzip", CompressionAlgorithm.gzip), (" GZIP ", .gzip), ("identity", .identity)])
    func encodingHeaderValuesParse(value: String, expected: CompressionAlgorithm) {
        #expect(CompressionAlgorithm(headerValue: value) == expected)
    }

    @Test(arguments: ["deflate", "snappy", "", "gzip,identity"])
    func unsupportedEncodingsDoNotParse(value: String) {
        #expect(CompressionAlgorithm(headerValue: value) == nil)
    }

    // MARK: - over loopback

    @Test func gzipRequestsGetGzipResponsesForEveryCallKind() async throws {
        let echo = EchoService()
        let h = try LoopbackHarness(routes: echo.routes)
        let ch = try h.channel { $0.compression = .gzip() }
        defer { ch.close() }
        let payload = Array(String(repeating: "vf ", count: 10_000).utf8)

        let unary = try await ch.openCall(path: "/test.Echo/Unary", timeout: .seconds(10))
        try await unary.send(payload)
        unary.closeSend()
        #expect(try await unary.receive() == payload)
        #expect(unary.call.responseEncoding == "gzip")
        #expect(try await unary.receive() == nil)

        let ss = try await ch.openCall(path: "/test.Echo/ServerStream", timeout: .seconds(10))
        try await ss.send([3])
        ss.closeSend()
        var got: [[UInt8]] = []
        while let m = try await ss.receive() { got.append(m) }
        #expect(got == [[0], [1], [2]])

        let cs = try await ch.openCall(path: "/test.Echo/ClientStream", timeout: .seconds(10))
        for _ in 0..<3 { try await cs.send(payload) }
        cs.closeSend()
        #expect(try await cs.receive() == payload + payload + payload)

        let bidi = try await ch.openCall(path: "/test.Echo/Bidi", timeout: .seconds(10))
        for i in 0..<5 {
            let m = payload + [UInt8(i)]
            try await bidi.send(m)
            #expect(try await bidi.receive() == m)
        }
        bidi.closeSend()
        #expect(try await bidi.receive() == nil)
        await h.stop()
    }

    @Test func responseCompressionFollowsTheServerPolicy() async throws {
        let echo = EchoService()
        var never = ServerConfiguration.Compression()
        never.responses = .never
        var always = ServerConfiguration.Compression()
        always.responses = .whenAccepted
        for (policy, clientGzip, expected) in [(never, true, String?.none), (always, false, "gzip"), (ServerConfiguration.Compression(), false, nil)] {
            let h = try LoopbackHarness(routes: echo.routes, compression: policy)
            let ch = try h.channel { if clientGzip { $0.compression = .gzip() } }
            let call = try await ch.openCall(path: "/test.Echo/Unary", timeout: .seconds(10))
            try await call.send(Array(repeating: 1, count: 5000))
            call.closeSend()
            #expect(try await call.receive()?.count == 5000)
            #expect(call.call.responseEncoding == expected, "\(policy.responses) client gzip \(clientGzip)")
            ch.close()
            await h.stop()
        }
    }

    @Test func aServerWithoutGzipAnswersUnimplementedAndSaysWhatItAccepts() async throws {
        var off = ServerConfiguration.Compression()
        off.acceptGzip = false
        let h = try LoopbackHarness(routes: EchoService().routes, compression: off)
        let ch = try h.channel { $0.compression = .gzip() }
        defer { ch.close() }
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [1, 2, 3], timeout: .seconds(10))
            Issue.record("the call succeeded")
        } catch let e as RPCError {
            #expect(e.code == .unimplemented)
            #expect(e.message.contains("grpc-encoding \"gzip\" is not supported; this server accepts identity"), "\(e.message)")
        }
        await h.stop()
    }

    @Test func compressionBombsAreRefusedBothWays() async throws {
        var always = ServerConfiguration.Compression()
        always.responses = .whenAccepted
        let h = try LoopbackHarness(routes: EchoService().routes, compression: always)
        let ch = try h.channel { $0.compression = .gzip() }
        defer { ch.close() }
        // Request: 5 MiB of zeros is a few KiB compressed, but inflates past 4 MiB.
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Unary", [UInt8](repeating: 0, count: 5 * 1024 * 1024), timeout: .seconds(10))
            Issue.record("the server accepted a compression bomb")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
            #expect(e.message.contains("inflates past the receive limit"), "\(e.message)")
        }
        // Response: the server answers 5 MiB of 0x5a compressed.
        let n = 5 * 1024 * 1024
        do {
            _ = try await ch.unaryRaw(path: "/test.Echo/Size", [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)], timeout: .seconds(10))
            Issue.record("the client accepted a compression bomb")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
            #expect(e.message.contains("inflates past the receive limit"), "\(e.message)")
        }
        // The connection still serves.
        #expect(try await ch.unaryRaw(path: "/test.Echo/Unary", [4, 5], timeout: .seconds(10)) == [4, 5])
        await h.stop()
    }

    @Test func aBombInTheMiddleOfAStreamEndsThatCallOnly() async throws {
        // Inflated by the handler's task (not the event loop): the handler
        // sees RESOURCE_EXHAUSTED from its request stream and ends the call.
        let h = try LoopbackHarness(routes: EchoService().routes)
        let ch = try h.channel { $0.compression = .gzip() }
        defer { ch.close() }
        let other = try await ch.openCall(path: "/test.Echo/Bidi", timeout: .seconds(10))
        let cs = try await ch.openCall(path: "/test.Echo/ClientStream", timeout: .seconds(10))
        try await cs.send([1, 2, 3])
        try? await cs.send([UInt8](repeating: 0, count: 5 * 1024 * 1024))
        cs.closeSend()
        do {
            _ = try await cs.receive()
            Issue.record("the bomb was accepted")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
            #expect(e.message.contains("inflates past the receive limit of 4194304 bytes"), "\(e.message)")
        }
        // The other stream on the same connection is unaffected.
        try await other.send([9])
        #expect(try await other.receive() == [9])
        other.closeSend()
        #expect(try await other.receive() == nil)
        await h.stop()
    }

    @Test func userAgentReachesTheHandler() async throws {
        let h = try LoopbackHarness(routes: EchoService().routes)
        let ch = try h.channel { $0.userAgent = "sriov-agent/test worker-7" }
        defer { ch.close() }
        let r = String(decoding: try await ch.unaryRaw(path: "/test.Echo/UserAgent", [], timeout: .seconds(10)), as: UTF8.self)
        #expect(r == "sriov-agent/test worker-7")
        await h.stop()
    }
}
