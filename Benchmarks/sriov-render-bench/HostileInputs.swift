import Foundation

// Hostile and careless inputs for `sriovctl render`: each is generated here,
// written to a temporary file and rendered by a child `sriovctl render -f FILE
// -o yaml`; the table gives wall time, the child's peak RSS (wait4), its exit
// status and how much it wrote to stderr. Every case is bounded by a timeout
// (the child is killed past it).

/// One generated input.
struct HostileCase: Sendable {
    let name: String
    let text: @Sendable () -> String
}

enum HostileInputs {
    static let xl710PFs: String = (0..<4).map { port in
        """
              - name: ens1f\(port)
                pciAddress: "0000:18:00.\(port)"
                vendor: "8086"
                deviceID: "1583"
                totalvfs: 64
        """
    }.joined(separator: "\n")

    static func node(_ name: String, labels: String = "sriov: \"true\"") -> String {
        """
        apiVersion: v1
        kind: Node
        metadata:
          name: \(name)
          labels: {\(labels)}
        ---
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodeState
        metadata:
          name: \(name)
        status:
          interfaces:
        \(xl710PFs)
        """
    }

    static func policy(_ name: String, pfNames: String, numVfs: Int = 8, resource: String? = nil) -> String {
        """
        apiVersion: sriovnetwork.openshift.io/v1
        kind: SriovNetworkNodePolicy
        metadata:
          name: \(name)
        spec:
          resourceName: \(resource ?? name.replacingOccurrences(of: "-", with: "_"))
          nodeSelector: {sriov: "true"}
          numVfs: \(numVfs)
          priority: 10
          nicSelector:
            pfNames: [\(pfNames)]
        """
    }

    /// `count` anchors, each nesting `depth` sequences around the previous one.
    static func nestedAnchors(count: Int, depth: Int) -> String {
        var text = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nx0: &a0 1\n"
        for i in 1...count {
            text += "x\(i): &a\(i) " + String(repeating: "[", count: depth) + "*a\(i - 1)"
                + String(repeating: "]", count: depth) + "\n"
        }
        return text
    }

    static func aliasChain(_ n: Int) -> String {
        var text = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nx0: &a0 [x]\n"
        for i in 1..<n { text += "x\(i): &a\(i) [*a\(i - 1)]\n" }
        return text
    }

    static func billionLaughs(levels: Int, width: Int) -> String {
        var text = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nl0: &l0 lol\n"
        for i in 1...levels {
            text += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: width).joined(separator: ", ") + "]\n"
        }
        return text
    }

    static func doublingChain(_ n: Int, aliasKey: Bool = false) -> String {
        var text = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nd0: &d0 [x]\n"
        for i in 1...n { text += "d\(i): &d\(i) [*d\(i - 1), *d\(i - 1)]\n" }
        if aliasKey { text += "? *d\(min(n, 29))\n: x\n" }
        return text
    }

    static func noPFPolicies(_ n: Int) -> String {
        ([node("node-0")] + (0..<n).map { policy("p-\($0)", pfNames: "nopeI") }).joined(separator: "\n---\n")
    }

    static func onePFOverlap(_ n: Int) -> String {
        ([node("node-0")] + (0..<n).map { policy("p-\($0)", pfNames: "ens1f0#0-0", resource: "r\($0)") })
            .joined(separator: "\n---\n")
    }

    /// `policies` policies over `nodes` nodes, each policy one VF of its own
    /// (PF `p / 64`, VF `p % 64`) on every node: no conflicts.
    static func fleet(policies: Int, nodes: Int) -> String {
        var docs: [String] = []
        let pfCount = (policies + 63) / 64
        let pfs = (0..<pfCount).map { k in
            """
                  - name: p\(k)
                    pciAddress: "\(String(format: "%04x", k)):18:00.0"
                    vendor: "8086"
                    deviceID: "1583"
                    totalvfs: 64
            """
        }.joined(separator: "\n")
        for i in 0..<nodes {
            docs.append(
                """
                apiVersion: v1
                kind: Node
                metadata: {name: node-\(i), labels: {sriov: "true"}}
                ---
                apiVersion: sriovnetwork.openshift.io/v1
                kind: SriovNetworkNodeState
                metadata: {name: node-\(i)}
                status:
                  interfaces:
                \(pfs)
                """)
        }
        for p in 0..<policies {
            docs.append(policy("p-\(p)", pfNames: "p\(p / 64)#\(p % 64)-\(p % 64)", numVfs: 64, resource: "r\(p)"))
        }
        return docs.joined(separator: "\n---\n")
    }

    /// A `List` of Nodes of about `megabytes` MB.
    static func nodeList(megabytes: Int) -> String {
        var text = "apiVersion: v1\nkind: List\nitems:\n"
        var i = 0
        while text.utf8.count < megabytes << 20 {
            text += """
                - apiVersion: v1
                  kind: Node
                  metadata:
                    name: worker-\(i)
                    labels:
                      kubernetes.io/hostname: worker-\(i)
                      kubernetes.io/os: linux
                      node-role.kubernetes.io/worker: ""
                      topology.kubernetes.io/zone: zone-\(i % 7)
                  status:
                    capacity: {cpu: "64", memory: 263842172Ki, pods: "110"}
                    nodeInfo: {kernelVersion: 6.1.0-18-amd64, osImage: Debian GNU/Linux 12 (bookworm)}

                """
            i += 1
        }
        return text
    }

    static func unknownKeys(_ n: Int) -> String {
        "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkNodePolicy\nmetadata: {name: p1}\nspec:\n"
            + (0..<n).map { "  unknown\($0): 1\n" }.joined()
    }

    static func wrongTypeLabels(_ n: Int) -> String {
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n" + (0..<n).map { "    l\($0): [\($0)]\n" }.joined()
    }

    static func hugeName(megabytes: Int) -> String {
        policy(String(repeating: "a", count: megabytes << 20), pfNames: "ens1f0")
    }

    static func badItems(_ n: Int) -> String {
        "apiVersion: v1\nkind: List\nitems:\n" + (0..<n).map { "- {apiVersion: v1, kind: Node, metadata: {name: \"Bad \($0)\"}}\n" }.joined()
    }

    static let cases: [HostileCase] = [
        HostileCase(name: "15 anchors x 400 nested [ through aliases") { nestedAnchors(count: 15, depth: 400) },
        HostileCase(name: "15 anchors x 999 nested [") { nestedAnchors(count: 15, depth: 999) },
        HostileCase(name: "alias chain 10,000") { aliasChain(10_000) },
        HostileCase(name: "alias chain 100,000") { aliasChain(100_000) },
        HostileCase(name: "billion laughs 9 x 10") { billionLaughs(levels: 9, width: 10) },
        HostileCase(name: "doubling chain 40") { doublingChain(40) },
        HostileCase(name: "doubling chain 29, alias as key") { doublingChain(29, aliasKey: true) },
        HostileCase(name: "no-PF policies N=100") { noPFPolicies(100) },
        HostileCase(name: "no-PF policies N=400") { noPFPolicies(400) },
        HostileCase(name: "no-PF policies N=1,000") { noPFPolicies(1_000) },
        HostileCase(name: "no-PF policies N=20,000") { noPFPolicies(20_000) },
        HostileCase(name: "one PF, #0-0 overlap N=500") { onePFOverlap(500) },
        HostileCase(name: "one PF, #0-0 overlap N=1,000") { onePFOverlap(1_000) },
        HostileCase(name: "one PF, #0-0 overlap N=10,000") { onePFOverlap(10_000) },
        HostileCase(name: "fleet 4,000 policies x 100 nodes") { fleet(policies: 4_000, nodes: 100) },
        HostileCase(name: "fleet 4,000 policies x 1,000 nodes") { fleet(policies: 4_000, nodes: 1_000) },
        HostileCase(name: "List of Nodes, 50 MB") { nodeList(megabytes: 50) },
        HostileCase(name: "List of Nodes, 200 MB") { nodeList(megabytes: 200) },
        HostileCase(name: "10,000 unknown keys") { unknownKeys(10_000) },
        HostileCase(name: "30,000 unknown keys") { unknownKeys(30_000) },
        HostileCase(name: "10,000 labels of the wrong type") { wrongTypeLabels(10_000) },
        HostileCase(name: "100 MB policy name") { hugeName(megabytes: 100) },
        HostileCase(name: "List with 100,000 bad items") { badItems(100_000) },
    ]

    /// Runs `sriovctl render` on each case whose name contains `filter`.
    static func run(sriovctl: String, filter: String?, timeoutSeconds: Int) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sriov-hostile-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        print("| input | input size | time | peak RSS | RSS/input MB | exit | stderr |")
        print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
        for c in cases where filter.map({ c.name.contains($0) }) ?? true {
            let input = dir.appendingPathComponent("input.yaml").path
            let errPath = dir.appendingPathComponent("stderr.txt").path
            let text = c.text()
            FileManager.default.createFile(atPath: input, contents: Data(text.utf8))
            let size = text.utf8.count
            let result = spawn(
                [sriovctl, "render", "-f", input, "-o", "yaml"], stdout: "/dev/null", stderr: errPath,
                timeoutSeconds: timeoutSeconds)
            let errBytes = (try? FileManager.default.attributesOfItem(atPath: errPath)[.size] as? Int) ?? 0
            let firstError = (try? String(contentsOfFile: errPath, encoding: .utf8))?
                .split(separator: "\n").first.map { String($0.prefix(110)) } ?? ""
            let mb = Double(size) / 1_048_576
            let ratio = mb >= 1 ? String(format: "%.1f×", Double(result.maxRSSKiB) / 1024 / mb) : "-"
            print(
                "| \(c.name) | \(bytes(size)) | \(String(format: "%.2f s", result.seconds)) | \(bytes(result.maxRSSKiB * 1024)) | \(ratio) | \(result.status) | \(bytes(errBytes)) |"
            )
            if !firstError.isEmpty { print("|   ↳ \(firstError.replacingOccurrences(of: "|", with: "\\|")) | | | | | | |") }
        }
    }

    static func bytes(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1 << 20 { return String(format: "%.0f KB", Double(n) / 1024) }
        if n < 1 << 30 { return String(format: "%.1f MB", Double(n) / 1_048_576) }
        return String(format: "%.2f GB", Double(n) / 1_073_741_824)
    }

    struct ChildResult {
        var seconds: Double
        var maxRSSKiB: Int
        var status: String
    }

    /// Runs a child with stdout and stderr sent to files and returns its wall
    /// time, peak RSS and exit status; kills it after the timeout.
    ///
    /// The child runs under `/usr/bin/time -f %M`, which forks it: a child
    /// spawned straight from this process would inherit this process's own
    /// peak RSS (the generated input) in its rusage.
    static func spawn(_ command: [String], stdout: String, stderr: String, timeoutSeconds: Int) -> ChildResult {
        let rssPath = stderr + ".rss"
        let argv = ["/usr/bin/time", "-f", "%M", "-o", rssPath] + command
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        guard posix_spawn(&pid, argv[0], &actions, &attributes, &cArgs, environ) == 0 else {
            return ChildResult(seconds: 0, maxRSSKiB: 0, status: "spawn failed")
        }
        var status: Int32 = 0
        var usage = rusage()
        var killed = false
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if !killed && ContinuousClock.now - start > .seconds(timeoutSeconds) {
                kill(-pid, SIGKILL)
                killed = true
            }
            usleep(10_000)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let timeReport = (try? String(contentsOfFile: rssPath, encoding: .utf8)) ?? ""
        let lines = timeReport.split(separator: "\n")
        let rss = lines.last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
        let text: String
        if let signal = lines.first(where: { $0.contains("terminated by signal") }) {
            text = "signal " + (signal.split(separator: " ").last.map(String.init) ?? "?")
        } else if killed {
            text = "killed after \(timeoutSeconds) s"
        } else if status & 0x7f == 0 {
            text = "exit \((status >> 8) & 0xff)"
        } else {
            text = "signal \(status & 0x7f)"
        }
        return ChildResult(seconds: seconds, maxRSSKiB: rss, status: text)
    }
}
