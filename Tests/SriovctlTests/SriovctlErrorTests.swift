import Foundation
import SriovTestSupport
import Testing

/// One clear line per problem and the documented exit status: 1 usage or
/// validation, 2 refused by the server, 3 unreachable or certificate refused.
@Suite(.timeLimit(.minutes(2)), .serialized)
struct SriovctlErrorTests {
    static let seed = RepoPaths.path("examples/seed")

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var input: String
        var status: Int32
        var stderr: [String]
        var testDescription: String { name }
    }

    static let badInputs: [Case] = [
        Case(name: "a field error names file, document, line, object and field",
             input: "kind: SriovNetwork\napiVersion: sriovnetwork.openshift.io/v1\nmetadata: {name: n1}\nspec: {resourceName: r}\n---\napiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkNodePolicy\nmetadata:\n  name: p1\nspec:\n  resourceName: r1\n  numVfs: -3\n  nodeSelector: {}\n  nicSelector: {vendor: \"8086\"}\n",
             status: 1, stderr: ["error: <stdin> (document 1), line 12: SriovNetworkNodePolicy \"p1\": spec.numVfs: invalid value -3"]),
        Case(name: "an unknown kind is named with the accepted ones",
             input: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
             status: 1, stderr: ["error: <stdin> (document 0)", "ConfigMap \"cm\": kind: invalid value \"ConfigMap\": unsupported kind; accepted kinds: SriovNetworkNodePolicy"]),
        Case(name: "text that is not YAML names the line",
             input: "apiVersion: [unclosed\n",
             status: 1, stderr: ["error: <stdin>:"]),
        Case(name: "a node state cannot be applied",
             input: "apiVersion: sriovnetwork.openshift.io/v1\nkind: SriovNetworkNodeState\nmetadata: {name: worker-0, namespace: sriov-network-operator}\n",
             status: 1, stderr: ["error: <stdin> (document 0): SriovNetworkNodeState \"worker-0\": cannot be applied"]),
        Case(name: "an empty input is an error", input: "# nothing\n", status: 1, stderr: ["error: <stdin>: no objects in the input"]),
    ]

    @Test(arguments: badInputs)
    func badFilesAreRefusedBeforeAnythingIsSent(_ c: Case) async throws {
        let controller = try CLIController()
        try await controller.start()
        let r = try Sriovctl.run(["apply", "-f", "-"], controller: controller, stdin: c.input)
        #expect(r.status == c.status, "\(r.output)")
        for line in c.stderr { #expect(r.stderr.contains(line), "\(line) in \(r.output)") }
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), "\(r.output)")
        let stored = try Sriovctl.run(["get", "sn", "-o", "name"], controller: controller)
        #expect(stored.stdout.isEmpty, "nothing is stored: \(stored.output)")
    }

    @Test func aMissingFileAndAnUnknownResourceTypeAreUsageErrors() throws {
        let missing = try Sriovctl.run(["apply", "-f", "/nonexistent/policy.yaml", "--dry-run=client"])
        #expect(missing.status == 1 && missing.stderr == "error: /nonexistent/policy.yaml: no such file or directory\n", "\(missing.output)")
        let kind = try Sriovctl.run(["get", "pods", "--server", "127.0.0.1:1", "--tls-cert", "x", "--tls-key", "x", "--tls-ca", "x"])
        #expect(kind.status == 1 && kind.stderr.hasPrefix("error: unknown resource type \"pods\"; expected one of: sriovnetworknodepolicy"), "\(kind.output)")
        let noServer = try Sriovctl.run(["get", "policies"])
        #expect(noServer.status == 1 && noServer.stderr.contains("no --server given: pass --server, set SRIOVCTL_SERVER, or use a context"), "\(noServer.output)")
        let client = try Sriovctl.run(["apply", "-f", Self.seed, "--dry-run=client"])
        #expect(client.status == 0 && client.stdout == "sriovnetwork/example-network validated (client dry run)\nsriovnetworknodepolicy/policy-1 validated (client dry run)\n", "\(client.output)")
    }

    @Test func anUnreachableServerExitsWith3() async throws {
        let c = try CLIController()
        try await c.start()
        let address = c.address
        c.stop()
        let r = try Sriovctl.run(["get", "policies", "--server", address], controller: c)
        #expect(r.status == 3, "\(r.output)")
        #expect(r.stderr.hasPrefix("error: listing policies: cannot reach the controller at \(address):"), "\(r.output)")
        #expect(r.stderr.split(separator: "\n").count == 1, "one line: \(r.output)")
    }

    @Test func aCertificateFromAnotherCAIsRefusedWith3() async throws {
        let c = try CLIController()
        try await c.start()
        let foreign = c.certs.foreign
        let r = try Sriovctl.run(["get", "policies"], controller: c, environment: [
            "SRIOVCTL_TLS_CERT": foreign + "/operator-admin.crt", "SRIOVCTL_TLS_KEY": foreign + "/operator-admin.key",
        ])
        #expect(r.status == 3, "\(r.output)")
        #expect(r.stderr.hasPrefix("error: listing policies: "), "\(r.output)")
        // The controller's certificate checked against the wrong CA: refused too.
        let wrongCA = try Sriovctl.run(["get", "policies"], controller: c, environment: ["SRIOVCTL_TLS_CA": foreign + "/ca.crt"])
        #expect(wrongCA.status == 3 && wrongCA.stderr.contains("cannot reach the controller"), "\(wrongCA.output)")
    }

    @Test func aViewerMayReadButNotApply() async throws {
        let c = try CLIController()
        try await c.start()
        let r = try Sriovctl.run(["apply", "-f", Self.seed + "/policy.yaml"], controller: c, identity: "viewer-view")
        #expect(r.status == 2, "\(r.output)")
        #expect(r.stderr.hasPrefix("error: \(Self.seed)/policy.yaml (document 0): SriovNetworkNodePolicy \"policy-1\": applying sriovnetworknodepolicy/policy-1: the server said PERMISSION_DENIED:"), "\(r.output)")
        let read = try Sriovctl.run(["get", "policies"], controller: c, identity: "viewer-view")
        #expect(read.status == 0, "\(read.output)")
        let delete = try Sriovctl.run(["delete", "nodestate", "worker-0"], controller: c, identity: "viewer-view")
        #expect(delete.status == 2 && delete.stderr.contains("PERMISSION_DENIED"), "\(delete.output)")
        let version = try Sriovctl.run(["version"], controller: c, identity: "viewer-view")
        #expect(version.status == 0 && version.stdout.contains("Authenticated As: spiffe://sriov.local/viewer/view (viewer)\n"), "\(version.output)")
    }

    @Test func aFlagWinsOverTheEnvironmentWhichWinsOverTheConfigFile() async throws {
        let c = try CLIController()
        try await c.start()
        let home = try RepoPaths.temporaryDirectory("sriovctl-home").path
        let dead = "127.0.0.1:1"
        // The file's context names a dead server; the environment the live one.
        let set = try Sriovctl.run([
            "config", "set-context", "lab", "--server", dead, "--tls-cert", c.certs.path("operator-admin.crt"),
            "--tls-key", c.certs.path("operator-admin.key"), "--tls-ca", c.certs.path("ca.crt"),
        ], configHome: home)
        #expect(set.status == 0 && set.stdout == "Context \"lab\" created.\n", "\(set.output)")
        let fromFile = try Sriovctl.run(["get", "policies"], configHome: home)
        #expect(fromFile.status == 3 && fromFile.stderr.contains(dead), "the file's server is used: \(fromFile.output)")
        let fromEnv = try Sriovctl.run(["get", "policies"], environment: ["SRIOVCTL_SERVER": c.address], configHome: home)
        #expect(fromEnv.status == 0, "the environment beats the file: \(fromEnv.output)")
        let fromFlag = try Sriovctl.run(["get", "policies", "--server", dead], environment: ["SRIOVCTL_SERVER": c.address], configHome: home)
        #expect(fromFlag.status == 3 && fromFlag.stderr.contains(dead), "the flag beats the environment: \(fromFlag.output)")

        // A second context, switched to and shown.
        _ = try Sriovctl.run([
            "config", "set-context", "live", "--server", c.address, "--tls-cert", c.certs.path("operator-admin.crt"),
            "--tls-key", c.certs.path("operator-admin.key"), "--tls-ca", c.certs.path("ca.crt"),
        ], configHome: home)
        let use = try Sriovctl.run(["config", "use-context", "live"], configHome: home)
        #expect(use.stdout == "Switched to context \"live\".\n", "\(use.output)")
        let live = try Sriovctl.run(["get", "policies"], configHome: home)
        #expect(live.status == 0, "\(live.output)")
        let byFlag = try Sriovctl.run(["get", "policies", "--context", "lab"], configHome: home)
        #expect(byFlag.status == 3, "\(byFlag.output)")
        let view = try Sriovctl.run(["config", "view"], configHome: home)
        #expect(view.stdout.contains("current-context: live") && view.stdout.contains("- name: lab") && view.stdout.contains("server: \(dead)"), "\(view.output)")
        let contexts = try Sriovctl.run(["config", "get-contexts"], configHome: home)
        #expect(contexts.stdout.contains("*         live"), "\(contexts.output)")
        let unknown = try Sriovctl.run(["config", "use-context", "nope"], configHome: home)
        #expect(unknown.status == 1 && unknown.stderr.contains("no context \"nope\"") && unknown.stderr.contains("known: lab, live"), "\(unknown.output)")
        let mode = try FileManager.default.attributesOfItem(atPath: home + "/sriovctl/config")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
