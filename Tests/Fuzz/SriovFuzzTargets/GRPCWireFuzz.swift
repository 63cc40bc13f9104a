import SriovGRPC

/// The `grpc-wire` target: what the RPC runtime reads from a peer before any
/// handler sees it.
///
/// Input: byte 0 picks the part (modulo 5), the rest is its input:
/// 0. the message deframer: byte 1 picks the encoding (bit 0: gzip) and the
///    message size limit (bits 1–2: 0, 16, 1 KiB, 64 KiB), byte 2 the size of
///    the DATA chunks the rest arrives in (1 to 256 bytes); every message
///    returned is within the limit, and the deframer ends by `finish()`;
/// 1. `grpc-timeout`: a value that parses re-encodes as a header value that
///    parses to at least the same timeout;
/// 2. `grpc-message`: any text percent-decodes without crashing, and
///    percent-encoding then decoding any text gives it back;
/// 3. `-bin` metadata: a value that decodes is sent again as base64 that
///    decodes to the same bytes;
/// 4. gzip framing: the rest, framed with gzip and deframed on a gzip stream,
///    comes back unchanged.
enum GRPCWireFuzz {
    static let limits = [0, 16, 1024, 65_536]

    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        switch input.byte() % 5 {
        case 0: deframe(&input)
        case 1: timeout(input.rest)
        case 2: message(input.rest)
        case 3: binaryMetadata(input.rest)
        default: gzipRoundTrip(input.rest)
        }
    }

    static func deframe(_ input: inout FuzzInput) {
        let mode = input.byte()
        let limit = limits[Int(mode >> 1) & 3]
        var deframer = MessageDeframer(maxMessageSize: limit)
        deframer.encoding = mode & 1 == 1 ? .gzip : .identity
        let chunk = Int(input.byte()) + 1
        let rest = input.rest
        var offset = 0
        while offset < rest.count {
            let end = min(rest.count, offset + chunk)
            deframer.append(UnsafeRawBufferPointer(rebasing: rest[offset..<end]))
            offset = end
            do {
                while let message = try deframer.next() {
                    if message.count > limit {
                        invariantBroken(.grpcWire, "the deframer returned \(message.count) bytes over its limit \(limit)")
                    }
                }
            } catch is MessageFramingError {
                return
            } catch {
                invariantBroken(.grpcWire, "the deframer threw \(type(of: error)), not MessageFramingError: \(error)")
            }
        }
        _ = try? deframer.finish()
    }

    static func timeout(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let parsed = try? GRPCTimeout(headerValue: text) else { return }
        let header = parsed.headerValue
        guard let again = try? GRPCTimeout(headerValue: header) else {
            invariantBroken(.grpcWire, "grpc-timeout \(text.debugDescription) parsed, but its re-encoding \(header) does not")
        }
        if again.nanoseconds < parsed.nanoseconds {
            invariantBroken(.grpcWire, "grpc-timeout \(text.debugDescription): re-encoded as \(header), shorter than \(parsed.nanoseconds) ns")
        }
    }

    static func message(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = PercentEncoding.decode(text)
        let encoded = PercentEncoding.encode(text)
        if encoded.utf8.contains(where: { $0 < 0x20 || $0 > 0x7e }) {
            invariantBroken(.grpcWire, "percent-encoding left a byte outside 0x20...0x7E in \(encoded.debugDescription)")
        }
        let decoded = PercentEncoding.decode(encoded)
        if decoded != text {
            invariantBroken(.grpcWire, "percent-encoding \(text.debugDescription) and decoding it gave \(decoded.debugDescription)")
        }
    }

    static func binaryMetadata(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        var received = Metadata()
        do {
            try received.addWireHeader(name: "x-fuzz-bin", value: text)
        } catch is HeaderValidationError {
            return
        } catch {
            invariantBroken(.grpcWire, "a -bin header threw \(type(of: error)), not HeaderValidationError: \(error)")
        }
        let values = received.values(for: "x-fuzz-bin")
        let sent: [(String, String)]
        do {
            sent = try received.wireHeaders()
        } catch {
            invariantBroken(.grpcWire, "received -bin metadata cannot be sent again: \(error)")
        }
        var echoed = Metadata()
        for (name, value) in sent {
            do {
                try echoed.addWireHeader(name: name, value: value)
            } catch {
                invariantBroken(.grpcWire, "our own -bin header \(value.debugDescription) does not decode: \(error)")
            }
        }
        if echoed.values(for: "x-fuzz-bin") != values {
            invariantBroken(.grpcWire, "-bin metadata changed between receiving and sending it again")
        }
    }

    static func gzipRoundTrip(_ bytes: UnsafeRawBufferPointer) {
        let payload = Array(bytes)
        let framed = MessageCompression.gzip().frame(payload)
        // The limit holds before and after inflating: the larger of the two.
        var deframer = MessageDeframer(maxMessageSize: max(payload.count, framed.count - 5))
        deframer.encoding = .gzip
        deframer.append(framed)
        do {
            guard let message = try deframer.next() else {
                invariantBroken(.grpcWire, "a complete gzip frame of \(payload.count) bytes was not returned")
            }
            if message != payload {
                invariantBroken(.grpcWire, "gzip frame → deframe changed \(payload.count) bytes")
            }
            try deframer.finish()
        } catch {
            invariantBroken(.grpcWire, "our own gzip frame of \(payload.count) bytes does not deframe: \(error)")
        }
    }
}
