import Foundation
import SriovTestSupport
import Testing

/// The test API server held to real clients: the real `kubectl` (apply,
/// apply --server-side, get, --subresource=status, --watch, delete) and the
/// Python `kubernetes` client (CRUD, status subresource, conflicts, watch
/// with bookmarks, 410 after compaction, server-side apply ownership), so
/// that what the mirror is tested against behaves as an API server does.
@Suite(.timeLimit(.minutes(2)))
struct KubeAPIServerFidelityTests {
    @Test func realClientsAgreeWithTheTestAPIServer() throws {
        let python = try #require(RepoPaths.python, "no Python test peers: run scripts/ensure-deps.sh")
        let certs = try MirrorCertificates.shared.get()
        let r = try TestProcess.run(python, [RepoPaths.path("Tests/interop/kube_apiserver_fidelity.py"), certs.directory, "kubectl"], timeout: 100)
        #expect(r.status == 0, "\(r.output)")
        #expect(!r.stdout.contains("FAIL"), "\(r.output)")
        #expect(r.stdout.components(separatedBy: "\nok ").count >= 20, "\(r.output)")
    }
}
