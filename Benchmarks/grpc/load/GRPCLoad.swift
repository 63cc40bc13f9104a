import Foundation
import SriovGRPC
import SriovProto
import Synchronization

/// A load client for the gRPC runtime, presenting a client certificate
/// (h2load cannot). Modes:
///
///     grpc-load calls      HOST:PORT CA CERT KEY CONNECTIONS STREAMS SECONDS
///     grpc-load handshakes HOST:PORT CA CERT KEY COUNT PARALLEL
///     grpc-load idle       HOST:PORT CA CERT KEY COUNT
///     grpc-load abort      HOST:PORT CA CERT KEY ROUNDS PARALLEL
///     grpc-load serve      HOST:PORT h2c|tls|mtls CERT KEY [CA]
///
/// `calls` prints calls/s and p50/p99 latency of unary health checks;
/// `handshakes` opens COUNT connections (PARALLEL at a time), one health
/// check each, and prints handshakes/s; `idle` opens COUNT connections,
/// prints "idle COUNT", and holds them until stdin closes; `abort` runs
/// ROUNDS rounds (PARALLEL at a time, each on a new connection, every other
/// one gzip) of calls that end abnormally — cancelled streams, expired
/// deadlines, oversized and malformed requests, a compression bomb, a
/// connection closed under an open stream — checks that each ends with the
/// status it must, prints the counts, and exits 1 on any surprise; `serve` runs a
/// server with health and `/bench.Bench/Blob4K` (an empty request answered
/// with 4 KiB), prints "serving PORT" and serves until stdin closes.
@main
struct GRPCLoad {
    static func main() async throws {
        let a = CommandLine.arguments
        guard a.count >= 6 else {
            FileHandle.standardError.write(Data("usage: grpc-load calls|handshakes|idle HOST:PORT CA CERT KEY ...\n".utf8))
            exit(2)
        }
        let target = try BindTarget(parsing: a[2])
        let tls = TLSConfiguration(certificatePath: a[4], privateKeyPath: a[5], trustRootsPath: a[3])
        // CA "h2c": plaintext, to tell TLS costs from HTTP/2 costs.
        let config = ClientConfiguration(target: target, security: a[3] == "h2c" ? .insecurePlaintext : .tls(tls))
        switch a[1] {
        case "calls": try await calls(config, connections: Int(a[6]) ?? 8, streams: Int(a[7]) ?? 32, seconds: Double(a[8]) ?? 5)
        case "handshakes": try await handshakes(config, count: Int(a[6]) ?? 1000, parallel: Int(a[7]) ?? 8)
        case "idle": try await idle(config, count: Int(a[6]) ?? 1000)
        case "abort": try await abort(config, rounds: Int(a[6]) ?? 100, parallel: Int(a[7]) ?? 8)
        case "serve": try await serve(target: target, cert: a[4], key: a[5], mode: a[3], caPath: a.count > 6 ? a[6] : nil)
        default:
            FileHandle.standardError.write(Data("unknown mode \(a[1])\n".utf8))
            exit(2)
        }
    }

    static func serve(target: BindTarget, cert: String, key: String, mode: String, caPath: String?) async throws {
        let security: ServerConfiguration.Security
        switch mode {
        case "h2c": security = .insecurePlaintext
        case "tls": security = .tls(TLSConfiguration(certificatePath: cert, privateKeyPath: key, trustRootsPath: nil, clientAuth: .none))
        default: security = .tls(TLSConfiguration(certificatePath: cert, privateKeyPath: key, trustRootsPath: caPath))
        }
        let blob = [UInt8](repeating: 0x42, count: 4096 - 3)
        // A bytes field of 4093 bytes: tag 0x0a, varint length 0xfd 0x1f.
        let response: [UInt8] = [0x0a, 0xfd, 0x1f] + blob
        let routes = HealthService().routes + [
            ServerRoute(path: "/bench.Bench/Blob4K", kind: .unary, handler: .inline { _, _ in response }),
        ]
        let server = try GRPCServer(
            configuration: ServerConfiguration(target: target, security: security), routes: routes,
            logger: .init(label: "grpc-load"))
        let port = try server.start()
        FileHandle.standardOutput.write(Data("serving \(port)\n".utf8))
        var byte: UInt8 = 0
        while true {
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
        }
        await server.shutdown(gracePeriod: .seconds(1))
    }

    static func calls(_ config: ClientConfiguration, connections: Int, streams: Int, seconds: Double) async throws {
        let channels = try (0..<connections).map { _ in try GRPCChannel(configuration: config) }
        for ch in channels { _ = try await ch.unary(GrpcHealthV1.Health.check, .init()) }
        let end = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for ch in channels {
                for _ in 0..<streams {
                    group.addTask {
                        var lat: [Int64] = []
                        lat.reserveCapacity(100_000)
                        while ContinuousClock.now < end {
                            let t0 = ContinuousClock.now
                            _ = try await ch.unaryRaw(path: GrpcHealthV1.Health.check.path, [])
                            let d = (ContinuousClock.now - t0).components
                            lat.append(d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000)
                        }
                        return lat
                    }
                }
            }
            var all: [Int64] = []
            for try await l in group { all += l }
            return all
        }
        let elapsed = (ContinuousClock.now - start)
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = latencies.sorted()
        func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6 }
        print(String(format: "calls %d in %.2fs: %.0f calls/s, p50 %.3f ms, p99 %.3f ms", sorted.count, secs, Double(sorted.count) / secs, pct(0.5), pct(0.99)))
        for ch in channels { ch.close() }
    }

    static func handshakes(_ config: ClientConfiguration, count: Int, parallel: Int) async throws {
        let next = Counter()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<parallel {
                group.addTask {
                    while next.value.add(1, ordering: .relaxed).newValue <= count {
                        let ch = try GRPCChannel(configuration: config)
                        _ = try await ch.unary(GrpcHealthV1.Health.check, .init())
                        ch.close()
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "handshakes %d in %.2fs: %.0f handshakes/s (mTLS, one health check each)", count, secs, Double(count) / secs))
    }

    static func idle(_ config: ClientConfiguration, count: Int) async throws {
        var channels: [GRPCChannel] = []
        for i in 0..<count {
            let ch = try GRPCChannel(configuration: config)
            _ = try await ch.unary(GrpcHealthV1.Health.check, .init())
            channels.append(ch)
            if i % 1000 == 999 { try await Task.sleep(for: .milliseconds(10)) }
        }
        FileHandle.standardOutput.write(Data("idle \(count)\n".utf8))
        var byte: UInt8 = 0
        while true {
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
        }
        for ch in channels { ch.close() }
    }
}

extension GRPCLoad {
    /// One abnormal ending: its name and the status it must end with.
    struct Outcome: Sendable, Hashable {
        var name: String
        var code: StatusCode
    }

    static func abort(_ base: ClientConfiguration, rounds: Int, parallel: Int) async throws {
        let next = Counter()
        let results = try await withThrowingTaskGroup(of: [Outcome: Int].self) { group in
            for _ in 0..<parallel {
                group.addTask {
                    var counts: [Outcome: Int] = [:]
                    while case let r = next.value.add(1, ordering: .relaxed).newValue, r <= rounds {
                        var config = base
                        if r % 2 == 0 { config.compression = .gzip() }
                        for o in try await abortRound(config) { counts[o, default: 0] += 1 }
                    }
                    return counts
                }
            }
            var all: [Outcome: Int] = [:]
            for try await c in group { all.merge(c, uniquingKeysWith: +) }
            return all
        }
        let expected: [String: StatusCode] = [
            "watch cancelled": .cancelled, "watch deadline": .deadlineExceeded, "reflection cancelled": .cancelled,
            "oversized": .resourceExhausted, "malformed": .internal, "unknown method": .unimplemented,
            "channel closed under a stream": .unavailable, "compression bomb": .resourceExhausted, "gzip check": .ok,
        ]
        var surprises = 0
        for (o, n) in results.sorted(by: { $0.key.name < $1.key.name }) {
            let ok = expected[o.name] == o.code
            if !ok { surprises += n }
            print("\(o.name): \(o.code) x\(n)\(ok ? "" : " (UNEXPECTED)")")
        }
        let total = results.values.reduce(0, +)
        print("abort: \(rounds) rounds, \(total) abnormal endings, \(surprises) unexpected")
        if surprises > 0 { exit(1) }
    }

    static let trace = ProcessInfo.processInfo.environment["GRPC_LOAD_TRACE"] != nil

    /// One round on a fresh connection.
    static func abortRound(_ config: ClientConfiguration) async throws -> [Outcome] {
        let ch = try GRPCChannel(configuration: config)
        defer { ch.close() }
        var out: [Outcome] = []
        func code(_ body: () async throws -> Void) async -> StatusCode {
            let t0 = ContinuousClock.now
            defer { if trace { FileHandle.standardError.write(Data("step \(out.count): \(ContinuousClock.now - t0)\n".utf8)) } }
            do {
                try await body()
                return .ok
            } catch let e as RPCError {
                if e.code == .deadlineExceeded || e.code == .unavailable || e.code == .unknown || e.code == .internal {
                    FileHandle.standardError.write(Data("abort: \(e)\n".utf8))
                }
                return e.code
            } catch {
                return .unknown
            }
        }
        let request = GrpcHealthV1.HealthCheckRequest().serializedBytes()
        // A server stream cancelled after its first message (RST_STREAM CANCEL).
        out.append(Outcome(name: "watch cancelled", code: await code {
            let call = try await ch.openCall(path: GrpcHealthV1.Health.watch.path, timeout: .seconds(10))
            try await call.send(request)
            call.closeSend()
            _ = try await call.receive()
            call.cancel()
            _ = try await call.receive()
        }))
        // A server stream that outlives its deadline.
        out.append(Outcome(name: "watch deadline", code: await code {
            let call = try await ch.openCall(path: GrpcHealthV1.Health.watch.path, timeout: .milliseconds(50))
            try await call.send(request)
            call.closeSend()
            while try await call.receive() != nil {}
        }))
        // A bidirectional stream cancelled mid-way.
        out.append(Outcome(name: "reflection cancelled", code: await code {
            let call = try await ch.openCall(path: GrpcReflectionV1.ServerReflection.serverReflectionInfo.path, timeout: .seconds(10))
            var r = GrpcReflectionV1.ServerReflectionRequest()
            r.messageRequest = .listServices("")
            try await call.send(r.serializedBytes())
            _ = try await call.receive()
            call.cancel()
            _ = try await call.receive()
        }))
        // Over the 4 MiB receive limit.
        out.append(Outcome(name: "oversized", code: await code {
            _ = try await ch.unaryRaw(path: GrpcHealthV1.Health.check.path, [UInt8](repeating: 0x0a, count: 4 * 1024 * 1024 + 1), timeout: .seconds(10))
        }))
        // Not a HealthCheckRequest: field 1 announced longer than the message.
        out.append(Outcome(name: "malformed", code: await code {
            _ = try await ch.unaryRaw(path: GrpcHealthV1.Health.check.path, [0x0a, 0x7f, 0x41], timeout: .seconds(10))
        }))
        out.append(Outcome(name: "unknown method", code: await code {
            _ = try await ch.unaryRaw(path: "/no.such.Service/Method", request, timeout: .seconds(10))
        }))
        if config.compression.algorithm == .gzip {
            // 5 MiB of zeros: a few KiB on the wire, past the limit inflated.
            out.append(Outcome(name: "compression bomb", code: await code {
                _ = try await ch.unaryRaw(path: GrpcHealthV1.Health.check.path, [UInt8](repeating: 0, count: 5 * 1024 * 1024), timeout: .seconds(10))
            }))
            out.append(Outcome(name: "gzip check", code: await code {
                _ = try await ch.unary(GrpcHealthV1.Health.check, .init(), timeout: .seconds(10))
            }))
        }
        // The connection closes under an open stream.
        out.append(Outcome(name: "channel closed under a stream", code: await code {
            let call = try await ch.openCall(path: GrpcHealthV1.Health.watch.path, timeout: .seconds(10))
            try await call.send(request)
            call.closeSend()
            _ = try await call.receive()
            ch.close()
            while try await call.receive() != nil {}
        }))
        return out
    }
}

/// A shared counter.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
