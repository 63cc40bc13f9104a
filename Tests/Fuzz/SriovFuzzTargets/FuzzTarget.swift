import Foundation

/// The fuzz targets: each takes one arbitrary input and either returns or
/// stops the process with a message naming the invariant that broke.
///
/// libFuzzer drives them through `sriov-fuzz` built with
/// `-sanitize=fuzzer,address` (`scripts/fuzz.sh`); the plain build of the
/// same executable replays files, and `SriovFuzzTests` replays the committed
/// corpus (every regression input included) in the ordinary test run.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Protobuf decoding of every generated message type (the wire scanner,
    /// then the protobuf-c bridge) and the round trip decode → encode →
    /// decode.
    case protobuf
    /// The gRPC message deframer (identity and gzip), `grpc-timeout`,
    /// percent-encoded `grpc-message` and `-bin` metadata.
    case grpcWire = "grpc-wire"
    /// The YAML and JSON codecs of every CR kind, defaulting and validation,
    /// then the offline renderer for valid input (twice: equal output).
    case cr
    /// The server side of one HTTP/2 connection with the gRPC layer and
    /// handlers behind it, fed hostile frames.
    case h2Server = "h2-server"
    /// The client side of one connection talking to a hostile server.
    case h2Client = "h2-client"

    /// Runs the target on one input.
    public func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .protobuf: ProtobufFuzz.run(data)
        case .grpcWire: GRPCWireFuzz.run(data)
        case .cr: CRFuzz.run(data)
        case .h2Server: HTTP2ServerFuzz.run(data)
        case .h2Client: HTTP2ClientFuzz.run(data)
        }
    }

    /// Runs the target on one input held in an array.
    public func run(_ data: [UInt8]) {
        data.withUnsafeBytes { run($0) }
    }

    /// The directory of the committed corpus of this target, relative to the
    /// repository root.
    public var corpusPath: String { "Tests/Fuzz/corpus/\(rawValue)" }
}

/// Stops the process: a fuzz target found a broken invariant.
///
/// A trap rather than a thrown error, so that libFuzzer records the input
/// (and so that a test replaying it fails loudly).
func invariantBroken(_ target: FuzzTarget, _ message: String) -> Never {
    FileHandle.standardError.write(Data("sriov-fuzz \(target.rawValue): \(message)\n".utf8))
    fatalError("sriov-fuzz \(target.rawValue): \(message)")
}

/// Reads an input front to back: fuzz targets take their parameters from
/// the first bytes and the payload from the rest.
struct FuzzInput {
    private let data: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    /// The next byte, or 0 once the input is used up.
    mutating func byte() -> UInt8 {
        guard offset < data.count else { return 0 }
        defer { offset += 1 }
        return data[offset]
    }

    /// Skips `count` bytes.
    mutating func skip(_ count: Int) { offset += count }

    /// The bytes not read yet.
    var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: data[min(offset, data.count)...])
    }
}
