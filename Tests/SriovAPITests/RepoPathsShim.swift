import Foundation
import SriovTestSupport

/// Reads repository files for the API tests.
enum RepoPathsShim {
    static func path(_ relative: String) -> String { RepoPaths.path(relative) }

    static func read(_ relative: String) throws -> String {
        try String(contentsOfFile: RepoPaths.path(relative), encoding: .utf8)
    }
}
