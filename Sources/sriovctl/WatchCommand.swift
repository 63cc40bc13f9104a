import ArgumentParser
import Foundation
import SriovAPI
import SriovGRPC
import SriovProto

/// `sriovctl watch nodestates [NAME]`: streams node-state changes until
/// interrupted, resuming after a reconnect.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Stream node-state changes until interrupted (or --timeout).",
        discussion: """
            Prints the current node states, then one line per change: table rows with an EVENT \
            column (ADDED, MODIFIED, DELETED), or with -o json one object per line, -o yaml one \
            document per event, -o name the object's name. When the connection drops, the watch \
            reconnects (with backoff) and resumes after the last change it printed; when the \
            controller no longer holds that history, it lists again.
            """)

    @Argument(help: "nodestates (sriovnetworknodestate, snns), or KIND/NAME.")
    var kind: String
    @Argument(help: "Watch one node state.")
    var name: String?
    @Option(name: [.customShort("o"), .customLong("output")], help: "table, wide, yaml, json or name.")
    var output: String?
    @Option(help: "Stop after this long (e.g. 30s, 5m) with status 0; default: until interrupted.")
    var timeout: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        await runCommand {
            let format = try OutputFormat.parse(output)
            let (_, objectName) = try ResourceKind.parse(self.kind, name: name, allowed: [.nodeState])
            var limit: Duration?
            if let timeout {
                guard let d = DurationText.parse(timeout), d > .zero else { throw CLIError.usage("--timeout \(timeout) is not a duration such as 30s, 5m") }
                limit = d
            }
            try await NodeStateWatcher(client: try connection.client(), name: objectName, format: format, timeout: limit).run()
        }
    }
}

/// The list-then-watch loop behind `watch` and `get -w`.
struct NodeStateWatcher {
    let client: OperatorClient
    let name: String?
    let format: OutputFormat
    let timeout: Duration?

    /// Runs until interrupted, or until `timeout` has passed.
    func run() async throws(CLIError) {
        guard let timeout else { return try await loop() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await loop() }
                group.addTask { try await Task.sleep(for: timeout) }
                try await group.next()
                group.cancelAll()
            }
        } catch let e as CLIError {
            throw e
        } catch {
            // Cancelled at the timeout: done.
        }
    }

    private func loop() async throws(CLIError) {
        var printer = EventPrinter(format: format)
        var resume = ""
        var connected = false
        var attempt = 0
        while !Task.isCancelled {
            var req = SriovV1.WatchRequest()
            req.name = name ?? ""
            req.resumeFromResourceVersion = resume
            do {
                try await client.channel.serverStreaming(
                    SriovV1.Operator.watchNodeStates, req, waitForReady: connected
                ) { stream in
                    for try await event in stream {
                        connected = true
                        attempt = 0
                        if !event.resourceVersion.isEmpty { resume = event.resourceVersion }
                        printer.handle(event)
                    }
                }
                // The server ended the stream: continue where it stopped.
            } catch let e as RPCError where e.code == .outOfRange {
                Console.error("watch: resource version \(resume) is too old to resume; listing again")
                resume = ""
                continue
            } catch {
                if Task.isCancelled { return }
                guard connected else {
                    throw CLIError.rpc(error, server: client.server, what: "watching node states")
                }
                if let e = error as? RPCError, e.code != .unavailable && e.code != .cancelled && e.code != .internal && e.code != .unknown {
                    throw CLIError.rpc(error, server: client.server, what: "watching node states")
                }
                attempt += 1
                let delay = min(30.0, pow(1.6, Double(attempt - 1)))
                Console.error("watch: the stream ended (\(error)); resuming after resource version \(resume.isEmpty ? "<start>" : resume) in \(String(format: "%.1f", delay))s")
                do { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) } catch { return }
            }
        }
    }
}

/// Prints watch events in the chosen format.
struct EventPrinter {
    let format: OutputFormat
    /// Rows held back until the first BOOKMARK, so the first batch is aligned.
    private var pending: [[String]] = []
    private var widths: [Int]?

    init(format: OutputFormat) { self.format = format }

    var headers: [String] { ["EVENT"] + Printers.nodeStateHeaders(wide: format == .wide) }

    mutating func handle(_ event: SriovV1.NodeStateEvent) {
        let type: String
        switch event.type {
        case .added: type = "ADDED"
        case .modified: type = "MODIFIED"
        case .deleted: type = "DELETED"
        case .bookmark:
            flush()
            return
        default: return
        }
        let state = event.nodeState
        switch format {
        case .table, .wide:
            let row = [type] + Printers.nodeStateRow(state, wide: format == .wide, now: Date())
            if widths == nil {
                pending.append(row)
            } else {
                var t = Table(headers)
                t.append(row)
                Console.out(t.render(header: false, widths: zip(widths!, t.widths).map { max($0, $1) }))
            }
        case .name:
            Console.out("\(ResourceKind.nodeState.resourceName)/\(state.metadata.name)\n")
        case .json:
            let v = CRValue.object([("type", .string(type)), ("object", CRCodec.encode(state))])
            Console.out(v.jsonString() + "\n")
        case .yaml:
            let v = CRValue.object([("type", .string(type)), ("object", CRCodec.encode(state))])
            Console.out("---\n" + v.yamlString())
        }
    }

    /// Prints the held rows with the header (once).
    private mutating func flush() {
        guard format == .table || format == .wide, widths == nil else { return }
        var t = Table(headers)
        for row in pending { t.append(row) }
        // EVENT as wide as its widest value, so later rows stay aligned.
        var w = t.widths
        w[0] = max(w[0], "MODIFIED".count)
        widths = w
        Console.out(t.render(widths: w))
        pending = []
    }
}
