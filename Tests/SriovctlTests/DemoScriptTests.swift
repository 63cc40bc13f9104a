import Foundation
import SriovTestSupport
import Testing

/// `scripts/demo.sh` itself, on the debug build the suite made (nothing is
/// built again), with short timeouts: every node reaches Succeeded.
@Suite(.timeLimit(.minutes(5)))
struct DemoScriptTests {
    @Test func theDemoBringsEveryNodeToSucceeded() throws {
        let dir = try RepoPaths.temporaryDirectory("sriov-demo").path
        let r = try TestProcess.run("/bin/bash", [RepoPaths.path("scripts/demo.sh")], environment: [
            "SRIOV_DEMO_BUILD": "debug", "SRIOV_DEMO_DIR": dir, "SRIOV_DEMO_TIMEOUT": "60s",
        ], timeout: 240)
        #expect(r.status == 0, "\(r.output.suffix(4000))")
        for node in ["worker-0", "worker-1", "worker-2"] {
            #expect(r.stdout.contains("sriovnetworknodestate/\(node) condition met (Succeeded)"), "\(node): \(r.output.suffix(4000))")
            #expect(r.stdout.range(of: "\(node) +Succeeded +", options: .regularExpression) != nil, "\(node) in get -o wide")
        }
        #expect(r.stdout.contains("using the debug binaries in .build/debug"))
        #expect(r.stdout.contains("Server Version: sriov-controller ") && r.stdout.contains("Authenticated As: spiffe://"), "\(r.output.prefix(4000))")
        #expect(r.stdout.contains("adapted to the simulated PCI address"))
        #expect(r.stdout.contains("kind: NetworkAttachmentDefinition") && r.stdout.contains("\"resourceName\": \"intel_nics_1\""))
        #expect(r.stdout.contains("stopping the controller and agents"))
        // Everything it started is gone.
        let pids = r.stdout.firstMatch(of: /stopping the controller and agents \(PIDs ([0-9 ]+)\)/).map { $0.1.split(separator: " ").compactMap { Int32($0) } } ?? []
        #expect(pids.count == 4)
        for pid in pids { #expect(kill(pid, 0) != 0, "process \(pid) still runs") }
    }
}
