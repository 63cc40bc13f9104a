import Foundation
import SriovAPI
import SriovSync

/// An HTTP response of the API server.
public struct KubeResponse: Sendable {
    public var status: Int
    /// Header names in lowercase.
    public var headers: [String: String]
    public var body: [UInt8]

    /// The body as a JSON value.
    public func json() throws(KubeError) -> CRValue {
        do {
            return try CRValue.parseDocument(String(decoding: body, as: UTF8.self), source: "response")
        } catch {
            throw KubeError(.protocolViolation, "the response body is not JSON: \(error)", status: status)
        }
    }
}

/// A REST client of the Kubernetes API server over HTTPS (HTTP/1.1,
/// keep-alive connections from a small pool, chunked watch streams).
///
/// Requests run on their own threads (blocking OpenSSL I/O), never on the
/// Swift concurrency pool, so a slow API server only delays its callers.
public final class KubeClient: Sendable {
    public let config: KubeConfig
    /// Per-request limits.
    public struct Limits: Sendable {
        /// How long connecting, sending and each read of a request may block.
        public var requestTimeout: Duration = .seconds(30)
        /// The largest response body accepted (a List of 5,000 node states
        /// with inventory is a few tens of MiB).
        public var maxBody = 256 * 1024 * 1024
        /// Idle connections kept for reuse.
        public var idleConnections = 4
        public static var defaults: Self { Self() }
    }
    public let limits: Limits
    private let context: KubeTLSContext
    var contextForWatch: KubeTLSContext { context }
    private let idle = Locked<[KubeConnection]>([])
    private let counters = Locked<[String: Int]>([:])
    private let queue = DispatchQueue(label: "sriov-mirror.kube", attributes: .concurrent)

    public init(config: KubeConfig, limits: Limits = .defaults) throws(KubeError) {
        self.config = config
        self.limits = limits
        self.context = try KubeTLSContext(config)
    }

    /// Requests sent so far, by method (`GET`, `PATCH`, …; watches as `WATCH`).
    public var requestCounts: [String: Int] { counters.withLock { $0 } }

    func countWatch() { counters.withLock { $0["WATCH", default: 0] += 1 } }

    /// Sends one request and returns the response, whatever its status.
    public func send(
        _ method: String, _ path: String, query: [(String, String)] = [], contentType: String? = nil, body: [UInt8]? = nil
    ) async throws(KubeError) -> KubeResponse {
        counters.withLock { $0[method, default: 0] += 1 }
        let target = Self.target(path, query)
        let result: Result<KubeResponse, KubeError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(KubeError) in
                    try self.perform(method, target, contentType: contentType, body: body)
                })
            }
        }
        return try result.get()
    }

    /// Sends a request and decodes a 2xx JSON answer; any other status throws
    /// with the server's Status message and Retry-After.
    public func json(
        _ method: String, _ path: String, query: [(String, String)] = [], contentType: String? = nil, body: CRValue? = nil
    ) async throws(KubeError) -> CRValue {
        let bytes = body.map { Array($0.jsonString().utf8) }
        let response = try await send(method, path, query: query, contentType: contentType ?? (body == nil ? nil : "application/json"), body: bytes)
        guard (200..<300).contains(response.status) else { throw Self.error(response, method, path) }
        return try response.json()
    }

    /// The error of a non-2xx response: the Status message, Retry-After.
    static func error(_ response: KubeResponse, _ method: String, _ path: String) -> KubeError {
        let message = (try? response.json())?["message"]?.stringValue
            ?? String(decoding: response.body.prefix(200), as: UTF8.self)
        let retryAfter = response.headers["retry-after"].flatMap { Int($0) }.map { Duration.seconds($0) }
        return KubeError(.httpStatus, "\(method) \(path): \(message)", status: response.status, retryAfter: retryAfter)
    }

    static func target(_ path: String, _ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return path }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+,!")
        return path + "?" + query.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $1)" }.joined(separator: "&")
    }

    func head(_ method: String, _ target: String, contentType: String?, length: Int?, watch: Bool) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(config.host):\(config.port)\r\nUser-Agent: sriov-mirror/1.0\r\nAccept: application/json\r\n"
        if let token = config.currentToken(), !token.isEmpty { text += "Authorization: Bearer \(token)\r\n" }
        if let contentType { text += "Content-Type: \(contentType)\r\n" }
        if let length { text += "Content-Length: \(length)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    private func checkout() throws(KubeError) -> KubeConnection {
        if let c = idle.withLock({ $0.popLast() }) { return c }
        return try KubeConnection(config: config, context: context, timeout: limits.requestTimeout)
    }

    private func checkin(_ c: KubeConnection) {
        idle.withLock { pool in
            if pool.count < limits.idleConnections { pool.append(c) }
        }
    }

    private func perform(_ method: String, _ target: String, contentType: String?, body: [UInt8]?) throws(KubeError) -> KubeResponse {
        var attempt = 0
        while true {
            let c = try checkout()
            let reused = c.served > 0
            do {
                try c.write(head(method, target, contentType: contentType, length: body?.count ?? (method == "GET" || method == "DELETE" ? nil : 0), watch: false) + (body ?? []))
                let (status, headers) = try readHead(c)
                let bytes = try readBody(c, headers)
                c.served += 1
                if headers["connection"]?.lowercased() != "close" { checkin(c) }
                return KubeResponse(status: status, headers: headers, body: bytes)
            } catch {
                // A kept-alive connection the server closed meanwhile: once
                // more on a fresh one (the request was not processed).
                if reused && attempt == 0 && error.code == .transport {
                    attempt += 1
                    continue
                }
                throw error
            }
        }
    }

    func readHead(_ c: KubeConnection) throws(KubeError) -> (Int, [String: String]) {
        guard let statusLine = try c.readLine() else {
            throw KubeError(.transport, "the server closed the connection before answering")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw KubeError(.protocolViolation, "not an HTTP/1.1 status line: \(statusLine.prefix(80))")
        }
        var headers: [String: String] = [:]
        while let line = try c.readLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (status, headers)
    }

    private func readBody(_ c: KubeConnection, _ headers: [String: String]) throws(KubeError) -> [UInt8] {
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var out: [UInt8] = []
            while let chunk = try readChunk(c) {
                out += chunk
                if out.count > limits.maxBody { throw KubeError(.protocolViolation, "a body longer than \(limits.maxBody) bytes") }
            }
            return out
        }
        if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0, length <= limits.maxBody else {
                throw KubeError(.protocolViolation, "Content-Length \(lengthText) is not accepted (0...\(limits.maxBody))")
            }
            return try c.read(count: length)
        }
        return try c.readToEnd(limit: limits.maxBody)
    }

    /// One chunk of a chunked body; nil after the last.
    func readChunk(_ c: KubeConnection) throws(KubeError) -> [UInt8]? {
        guard let sizeLine = try c.readLine() else { throw KubeError(.transport, "the connection closed inside a chunked body") }
        let sizeText = sizeLine.split(separator: ";").first.map(String.init) ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
            throw KubeError(.protocolViolation, "bad chunk size \(sizeLine.prefix(20))")
        }
        if size == 0 {
            while let line = try c.readLine(), !line.isEmpty {}
            return nil
        }
        guard size <= limits.maxBody else { throw KubeError(.protocolViolation, "a chunk of \(size) bytes") }
        let data = try c.read(count: size)
        _ = try c.readLine()
        return data
    }
}
