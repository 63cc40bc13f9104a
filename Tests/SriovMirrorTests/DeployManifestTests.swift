import Foundation
import SriovTestSupport
import Testing

/// deploy/ and examples/ against the CRDs: every YAML parses, `kubectl
/// kustomize deploy/` builds, every example validates against its CRD's
/// openAPIV3Schema with Python `jsonschema`, and every file of
/// examples/invalid/ is rejected at the field it names.
@Suite(.timeLimit(.minutes(2)))
struct DeployManifestTests {
    @Test func manifestsBuildAndExamplesMatchTheCRDSchemas() throws {
        let python = try #require(RepoPaths.python, "no Python test peers: run scripts/ensure-deps.sh")
        let r = try TestProcess.run(python, [RepoPaths.path("Tests/interop/deploy_check.py"), "kubectl"], timeout: 90)
        #expect(r.status == 0, "\(r.output)")
        #expect(!r.stdout.contains("FAIL"), "\(r.output)")
        #expect(r.stdout.contains("kustomize built"), "\(r.output)")
        // Every file of examples/invalid/ was checked and rejected.
        let invalid = try FileManager.default.contentsOfDirectory(atPath: RepoPaths.path("examples/invalid"))
            .filter { $0.hasSuffix(".yaml") }
        #expect(r.stdout.contains("\(invalid.count) invalid examples rejected"), "\(r.output)")
    }
}
