import Foundation
import Glibc
import SriovGRPC
import Testing

/// Our client against a third-party Go gRPC server: etcd's KV API (Debian
/// `etcd-server`), started on loopback by the test. Skipped without etcd.
@Suite(.timeLimit(.minutes(1)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd")))
struct EtcdInteropTests {
    /// Protobuf field: tag, length-delimited bytes.
    static func bytesField(_ number: UInt8, _ value: [UInt8]) -> [UInt8] {
        precondition(value.count < 128)
        return [number << 3 | 2, UInt8(value.count)] + value
    }

    @Test func putThenRangeThroughEtcdKVOverH2C() async throws {
        let client = try LoopbackSockets.freePort(), peer = try LoopbackSockets.freePort()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("etcd-\(UUID().uuidString)").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        p.arguments = [
            "--data-dir", dir, "--listen-client-urls", "http://127.0.0.1:\(client)", "--advertise-client-urls", "http://127.0.0.1:\(client)",
            "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
            "--initial-cluster", "default=http://127.0.0.1:\(peer)", "--log-level", "error",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            try? FileManager.default.removeItem(atPath: dir)
        }
        let ch = try GRPCChannel(configuration: ClientConfiguration(target: .host("127.0.0.1", port: client), security: .insecurePlaintext))
        defer { ch.close() }
        let key = Array("sriov/test-key".utf8), value = Array("vf-count=8".utf8)
        // etcd takes a moment to elect itself leader; retry while UNAVAILABLE.
        var put: [UInt8]?
        for _ in 0..<100 where put == nil {
            do {
                put = try await ch.unaryRaw(path: "/etcdserverpb.KV/Put", Self.bytesField(1, key) + Self.bytesField(2, value), timeout: .seconds(2))
            } catch let e as RPCError where e.code == .unavailable || e.code == .deadlineExceeded {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(put != nil)
        let range = try await ch.unaryRaw(path: "/etcdserverpb.KV/Range", Self.bytesField(1, key), timeout: .seconds(5))
        // RangeResponse.kvs (field 2) holds a KeyValue with key (1) and value (5).
        let r = range
        #expect(r.firstRange(of: Self.bytesField(1, key)) != nil)
        #expect(r.firstRange(of: Self.bytesField(5, value)) != nil)
        // An etcd error status arrives as an RPCError: an empty key is invalid.
        do {
            _ = try await ch.unaryRaw(path: "/etcdserverpb.KV/Put", Self.bytesField(2, value), timeout: .seconds(5))
            Issue.record("etcd accepted an empty key")
        } catch let e as RPCError {
            #expect(e.code == .invalidArgument)
            #expect(e.message.contains("key is not provided"))
        }
    }
}
