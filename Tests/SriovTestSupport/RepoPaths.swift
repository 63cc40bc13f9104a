import Foundation

/// Paths of the repository and of the test peers, for tests.
public enum RepoPaths {
    /// The repository root (the folder holding Package.swift).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// A path below the repository root.
    public static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    /// A built executable of the package: in `$SRIOV_TEST_BIN_DIR` (relative
    /// to the root or absolute; scripts/tsan.sh points it at the
    /// ThreadSanitizer build), else `.build/debug`.
    public static func binary(_ name: String) -> String {
        let dir = ProcessInfo.processInfo.environment["SRIOV_TEST_BIN_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? ".build/debug"
        return (dir.hasPrefix("/") ? dir : path(dir)) + "/" + name
    }

    /// The Python interpreter with the test peers (grpcio, grpcio-tools, h2, …):
    /// `$SRIOV_TEST_PYTHON`, else `.venv/bin/python` of the repository
    /// (made by scripts/ensure-deps.sh); nil when neither exists.
    public static var python: String? {
        if let fromEnv = ProcessInfo.processInfo.environment["SRIOV_TEST_PYTHON"], !fromEnv.isEmpty {
            return fromEnv
        }
        let venv = path(".venv/bin/python")
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// A new empty temporary directory.
    public static func temporaryDirectory(_ prefix: String = "sriov-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
