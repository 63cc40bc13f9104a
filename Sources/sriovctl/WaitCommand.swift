import ArgumentParser
import Foundation
import SriovGRPC
import SriovProto

/// `sriovctl wait --for=sync [NAME|--all]`: waits until nodes have applied
/// their current spec.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until node states report Succeeded for their current generation.",
        discussion: """
            Selects node states by NAME (nodestate/NAME works too), by -l SELECTOR, or --all. Exits 0 \
            when every selected node reports Succeeded with observedGeneration equal to its \
            generation; 1 as soon as one reports Failed for its current generation, printing each \
            failing node and its lastSyncError; 1 with the nodes still pending when --timeout \
            passes. --all with no node states waits for the first one to appear. The check runs \
            on every change a node-state watch reports, and every --interval besides.
            """)

    @Argument(help: "A node state's name (or nodestate/NAME).")
    var name: String?
    @Option(name: .customLong("for"), help: "The condition: sync.")
    var condition: String
    @Flag(help: "Every node state.")
    var all = false
    @Option(name: [.customShort("l"), .customLong("selector")], help: "Node states whose node labels match, e.g. a=b.")
    var selector: String = ""
    @Option(help: "How long to wait, e.g. 2m, 90s.")
    var timeout: String = "2m"
    @Option(help: "How often to check when the watch reports no change (it wakes the check on every change), e.g. 5s.")
    var interval: String = "5s"
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if condition != "sync" { throw ValidationError("--for=\(condition): the only condition is sync") }
        let chosen = (name != nil ? 1 : 0) + (all ? 1 : 0) + (selector.isEmpty ? 0 : 1)
        if chosen != 1 { throw ValidationError("name exactly one of NAME, --all or -l SELECTOR") }
    }

    /// Where the selected nodes stand.
    enum Outcome: Equatable {
        case synced([String])
        case failed([String])
        case pending([String])
    }

    /// Decides from one listing: failed beats pending beats synced.
    static func evaluate(_ states: [SriovV1.SriovNetworkNodeState]) -> Outcome {
        var failed: [String] = []
        var pending: [String] = []
        var synced: [String] = []
        for s in states {
            let current = s.status.observedGeneration == s.metadata.generation
            let name = s.metadata.name
            if current && s.status.syncStatus == "Succeeded" {
                synced.append(name)
            } else if current && s.status.syncStatus == "Failed" {
                failed.append("\(name): Failed at generation \(s.metadata.generation): \(s.status.lastSyncError.isEmpty ? "<no error given>" : s.status.lastSyncError)")
            } else {
                let status = s.status.syncStatus.isEmpty ? "not synced yet" : s.status.syncStatus
                pending.append("\(name): \(status) (generation \(s.metadata.generation), observed \(s.status.observedGeneration))")
            }
        }
        if !failed.isEmpty { return .failed(failed) }
        if !pending.isEmpty || states.isEmpty { return .pending(pending) }
        return .synced(synced)
    }

    func run() async throws {
        await runCommand {
            guard let limit = DurationText.parse(timeout), limit > .zero else { throw CLIError.usage("--timeout \(timeout) is not a duration such as 2m, 90s") }
            guard let every = DurationText.parse(interval), every >= .milliseconds(10) else { throw CLIError.usage("--interval \(interval) is not a duration of at least 10ms") }
            var nodeName = name
            if let n = name, n.contains("/") { nodeName = try ResourceKind.parse(n, name: nil, allowed: [.nodeState]).1 }
            let client = try connection.client()
            let deadline = ContinuousClock.now + limit

            // Checks run at the start, on every change the watch sees, and
            // every --interval without one (a fallback should the watch be
            // down); the latest wake-up is enough.
            let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let watcher = Task { await Self.watchChanges(client, name: nodeName ?? "", wake: wake) }
            let ticker = Task {
                while !Task.isCancelled {
                    let next = min(ContinuousClock.now + every, deadline)
                    try? await Task.sleep(until: next)
                    wake.yield()
                    if next >= deadline { return }
                }
            }
            defer {
                watcher.cancel()
                ticker.cancel()
                wake.finish()
            }
            wake.yield()
            var last = Outcome.pending([])
            for await _ in wakeups {
                var states: [SriovV1.SriovNetworkNodeState]
                if let nodeName {
                    let found = try await client.optional(SriovV1.Operator.getNodeState, OperatorClient.get(nodeName), "getting sriovnetworknodestate/\(nodeName)")
                    states = found.map { [$0] } ?? []
                    if found == nil { last = .pending(["\(nodeName): no node state yet (its agent has not reported)"]) }
                } else {
                    states = try await client.nodeStates(selector: selector).items
                    if states.isEmpty { last = .pending(["no node state matches yet"]) }
                }
                if !states.isEmpty { last = Self.evaluate(states) }
                switch last {
                case .synced(let names):
                    for n in names { Console.out("sriovnetworknodestate/\(n) condition met (Succeeded)\n") }
                    return
                case .failed(let lines):
                    throw CLIError(.usage, lines.map { "sriovnetworknodestate/\($0)" })
                case .pending(let lines):
                    if ContinuousClock.now >= deadline {
                        throw CLIError(.usage, ["timed out after \(timeout) waiting for sync"] + lines.map { "  still waiting: \($0)" })
                    }
                }
            }
        }
    }

    /// Wakes the checks at the watch's BOOKMARK and on every node-state change
    /// after it, reconnecting (with backoff, resuming after the last change
    /// seen) until cancelled. Errors only delay wake-ups: the interval's
    /// checks go on and report what is wrong with the server.
    static func watchChanges(_ client: OperatorClient, name: String, wake: AsyncStream<Void>.Continuation) async {
        var resume = ""
        var attempt = 0
        while !Task.isCancelled {
            var req = SriovV1.WatchRequest()
            req.name = name
            req.resumeFromResourceVersion = resume
            do {
                try await client.channel.serverStreaming(SriovV1.Operator.watchNodeStates, req) { stream in
                    var listed = !resume.isEmpty
                    for try await event in stream {
                        attempt = 0
                        if !event.resourceVersion.isEmpty { resume = event.resourceVersion }
                        // The BOOKMARK too: a change between the first check
                        // and the watch's listing is seen by the check after it.
                        if event.type == .bookmark {
                            listed = true
                            wake.yield()
                        } else if listed {
                            wake.yield()
                        }
                    }
                }
            } catch let e as RPCError where e.code == .outOfRange {
                resume = ""
                wake.yield()
                continue
            } catch {}
            attempt += 1
            do { try await Task.sleep(for: .milliseconds(min(10_000, 200 << min(attempt, 6)))) } catch { return }
        }
    }
}
