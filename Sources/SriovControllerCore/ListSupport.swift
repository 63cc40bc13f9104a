import SriovGRPC
import SriovStore

/// A Kubernetes equality-based label selector: `a=b`, `a==b`, `a!=b`, `a`
/// (exists), `!a` (does not exist), joined by commas.
public struct LabelSelector: Sendable, Hashable {
    enum Requirement: Sendable, Hashable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case notExists(String)
    }

    var requirements: [Requirement] = []

    /// Parses a selector; INVALID_ARGUMENT naming the bad term.
    public init(parsing text: String) throws(RPCError) {
        if text.utf8.count > 4096 {
            throw RPCError(code: .invalidArgument, message: "label_selector is \(text.utf8.count) bytes; at most 4096")
        }
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let term = raw.trimmingSpaces()
            if term.isEmpty {
                if text.trimmingSpaces().isEmpty { continue }
                throw RPCError(code: .invalidArgument, message: "label_selector \"\(text.prefix(100))\": empty term")
            }
            if let r = term.firstRange(of: "!=") {
                requirements.append(.notEquals(try Self.key(term[..<r.lowerBound], text), try Self.value(term[r.upperBound...], text)))
            } else if let r = term.firstRange(of: "==") {
                requirements.append(.equals(try Self.key(term[..<r.lowerBound], text), try Self.value(term[r.upperBound...], text)))
            } else if let r = term.firstRange(of: "=") {
                requirements.append(.equals(try Self.key(term[..<r.lowerBound], text), try Self.value(term[r.upperBound...], text)))
            } else if term.hasPrefix("!") {
                requirements.append(.notExists(try Self.key(term.dropFirst(), text)))
            } else {
                requirements.append(.exists(try Self.key(Substring(term), text)))
            }
        }
    }

    private static func key(_ s: Substring, _ text: String) throws(RPCError) -> String {
        let k = String(s).trimmingSpaces()
        let ok = !k.isEmpty && k.utf8.count <= 317 && k.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || c == 0x2E || c == 0x2F
        }
        if !ok { throw RPCError(code: .invalidArgument, message: "label_selector \"\(text.prefix(100))\": \"\(k.prefix(64))\" is not a label key") }
        return k
    }

    private static func value(_ s: Substring, _ text: String) throws(RPCError) -> String {
        let v = String(s).trimmingSpaces()
        let ok = v.utf8.count <= 63 && v.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F || c == 0x2E
        }
        if !ok { throw RPCError(code: .invalidArgument, message: "label_selector \"\(text.prefix(100))\": \"\(v.prefix(64))\" is not a label value") }
        return v
    }

    /// Whether labels satisfy every requirement.
    public func matches(_ labels: [String: String]) -> Bool {
        for r in requirements {
            switch r {
            case .equals(let k, let v): if labels[k] != v { return false }
            case .notEquals(let k, let v): if labels[k] == v { return false }
            case .exists(let k): if labels[k] == nil { return false }
            case .notExists(let k): if labels[k] != nil { return false }
            }
        }
        return true
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

/// Opaque page tokens: the revision the first page was read at and the last
/// key returned, so later pages read the same revision.
enum PageToken {
    static func encode(revision: Revision, lastKey: String) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in "v1|\(revision)|\(lastKey)".utf8 {
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ token: String) throws(RPCError) -> (revision: Revision, lastKey: String) {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        let chars = Array(token.utf8)
        var bytes: [UInt8] = []
        var i = 0
        while i + 1 < chars.count, let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) {
            bytes.append(hi << 4 | lo)
            i += 2
        }
        guard i == chars.count, chars.count <= 4096 else {
            throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let rev = Revision(parts[1]) else {
            throw RPCError(code: .invalidArgument, message: "page_token is not one this server issued")
        }
        return (rev, String(parts[2]))
    }
}

/// Maps store failures to RPC statuses.
func rpcError(_ error: any Error) -> any Error {
    guard let e = error as? StoreError else { return error }
    switch e.code {
    case .compacted: return RPCError(code: .outOfRange, message: "\(e.message); list again and resume from the list's resource_version")
    case .futureRevision: return RPCError(code: .outOfRange, message: e.message)
    case .compareFailed: return RPCError(code: .aborted, message: "the object changed meanwhile (\(e.message)); read it again and retry")
    case .invalid: return RPCError(code: .invalidArgument, message: e.message)
    case .watcherTooSlow: return RPCError(code: .resourceExhausted, message: e.message)
    default: return RPCError(code: .unavailable, message: "store: \(e.message)")
    }
}

/// Reads one page of a kind's keys, filtered, at the revision of the first
/// page.
func readPage<T>(
    store: any KVStore, prefix: String, pageSize: Int32, pageToken: String,
    decode: (KeyValue) throws -> T, keep: (T) -> Bool
) async throws -> (items: [T], next: String, revision: Revision) {
    if pageSize < 0 || pageSize > 1000 {
        throw RPCError(code: .invalidArgument, message: "page_size \(pageSize) is out of range; expected 1-1000, or 0 for 500")
    }
    let size = pageSize == 0 ? 500 : Int(pageSize)
    var revision: Revision? = nil
    var after: String? = nil
    if !pageToken.isEmpty {
        let t = try PageToken.decode(pageToken)
        guard t.lastKey.hasPrefix(prefix) else {
            throw RPCError(code: .invalidArgument, message: "page_token belongs to another list")
        }
        revision = t.revision
        after = t.lastKey
    }
    var items: [T] = []
    while true {
        let page: ListPage
        do {
            page = try await store.list(prefix: prefix, startAfter: after, limit: size - items.count, at: revision)
        } catch let e as StoreError where e.code == .compacted {
            throw RPCError(code: .outOfRange, message: "the list's revision is no longer kept (page token expired); list again from the first page")
        }
        revision = page.revision
        for kv in page.items {
            let item = try decode(kv)
            if keep(item) { items.append(item) }
        }
        after = page.items.last?.key ?? after
        if !page.more {
            return (items, "", page.revision)
        }
        if items.count >= size, let last = after {
            return (items, PageToken.encode(revision: page.revision, lastKey: last), page.revision)
        }
    }
}
