import Glibc
import SriovProto
import SriovStore

/// Where each kind of object lives in the store.
///
/// Values are serialized protobuf messages without `resource_version`: an
/// object's resource version is the revision of its last write, filled in
/// from the store's mod revision when it is read (as Kubernetes does over
/// etcd), so a backend never has to know a revision before it commits.
public enum ObjectKeys {
    public static let policies = "/policies/"
    public static let networks = "/networks/"
    public static let nodeStates = "/nodestates/"
    public static let rendered = "/rendered/"
    public static let renderedNADs = "/rendered/nad/"
    public static let renderedDevicePlugin = "/rendered/dp/"

    public static func policy(_ namespace: String, _ name: String) -> String { policies + namespace + "/" + name }
    public static func network(_ namespace: String, _ name: String) -> String { networks + namespace + "/" + name }
    public static func nodeState(_ name: String) -> String { nodeStates + name }
    /// A network's NAD, keyed by the network (not its target namespace).
    public static func renderedNAD(networkKey: String) -> String { renderedNADs + networkKey }
    public static func renderedDevicePlugin(node: String) -> String { renderedDevicePlugin + node }
}

/// Decoding stored values into API objects with their resource version.
enum StoredObject {
    static func policy(_ kv: KeyValue) throws -> SriovV1.SriovNetworkNodePolicy {
        var p = try SriovV1.SriovNetworkNodePolicy(serializedBytes: kv.value)
        p.metadata.resourceVersion = String(kv.modRevision)
        return p
    }

    static func network(_ kv: KeyValue) throws -> SriovV1.SriovNetwork {
        var n = try SriovV1.SriovNetwork(serializedBytes: kv.value)
        n.metadata.resourceVersion = String(kv.modRevision)
        return n
    }

    static func nodeState(_ kv: KeyValue) throws -> SriovV1.SriovNetworkNodeState {
        var n = try SriovV1.SriovNetworkNodeState(serializedBytes: kv.value)
        n.metadata.resourceVersion = String(kv.modRevision)
        return n
    }

    static func rendered(_ kv: KeyValue) throws -> SriovV1.RenderedObject {
        var r = try SriovV1.RenderedObject(serializedBytes: kv.value)
        r.resourceVersion = String(kv.modRevision)
        return r
    }

    /// Bytes to store: the object without its resource version.
    static func bytes(_ p: SriovV1.SriovNetworkNodePolicy) -> [UInt8] {
        var c = p
        c.metadata.resourceVersion = ""
        return c.serializedBytes()
    }

    static func bytes(_ n: SriovV1.SriovNetwork) -> [UInt8] {
        var c = n
        c.metadata.resourceVersion = ""
        return c.serializedBytes()
    }

    static func bytes(_ n: SriovV1.SriovNetworkNodeState) -> [UInt8] {
        var c = n
        c.metadata.resourceVersion = ""
        return c.serializedBytes()
    }

    static func bytes(_ r: SriovV1.RenderedObject) -> [UInt8] {
        var c = r
        c.resourceVersion = ""
        return c.serializedBytes()
    }
}

/// Small helpers for metadata.
enum Meta {
    /// Now, as a protobuf timestamp.
    static func now() -> GoogleProtobuf.Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = GoogleProtobuf.Timestamp()
        t.seconds = Int64(ts.tv_sec)
        t.nanos = Int32(ts.tv_nsec)
        return t
    }

    /// A random (version 4) UUID.
    static func uuid() -> String {
        var g = SystemRandomNumberGenerator()
        var b = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        let hex = b.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}
