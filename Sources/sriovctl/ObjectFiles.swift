import Foundation
import SriovAPI

/// Objects read from `-f` files, each with where it came from.
struct SourcedObject {
    var object: APIObject
    /// The file, or `<stdin>`.
    var source: String
    /// Zero-based index of its document in the file.
    var document: Int

    /// `policy.yaml (document 0): SriovNetworkNodePolicy "policy-1"`.
    var place: String { "\(source) (document \(document)): \(object.kind) \"\(object.name)\"" }
}

enum ObjectFiles {
    /// Reads and validates every object of `paths` (files, directories of
    /// .yaml/.yml/.json files, or `-`): all problems of all files at once, one
    /// line each, naming file, document, object and field.
    static func read(_ paths: [String], limits: DecodeLimits = .defaults) throws(CLIError) -> [SourcedObject] {
        if paths.isEmpty { throw .usage("at least one -f FILE|DIR|- is required") }
        var objects: [SourcedObject] = []
        var problems: [String] = []
        for path in try expand(paths) {
            let source = path == "-" ? "<stdin>" : path
            do {
                let bytes = try InputFile.read(path, limit: limits.maxInputBytes)
                let decoded = try CRCodec.decodeObjects(fromUTF8: bytes, source: source, limits: limits, validate: true)
                // Which document each object came from.
                var documents: [Int] = []
                for (i, doc) in try CRValue.parseDocuments(utf8: bytes, source: source, limits: limits).enumerated() {
                    let count = (try? CRCodec.decodeObjects(doc, limits: limits).count) ?? 0
                    documents += Array(repeating: i, count: count)
                }
                for (i, o) in decoded.enumerated() {
                    objects.append(SourcedObject(object: o, source: source, document: i < documents.count ? documents[i] : 0))
                }
            } catch let list as FieldErrorList {
                problems += list.lines
            } catch {
                problems.append("\(error)")
            }
        }
        if !problems.isEmpty { throw CLIError(.usage, problems) }
        return objects
    }

    /// Files named on the command line; a directory gives its .yaml, .yml
    /// and .json files (not recursive), sorted by name.
    static func expand(_ paths: [String]) throws(CLIError) -> [String] {
        var files: [String] = []
        for path in paths {
            if path == "-" {
                files.append(path)
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw .usage("\(path): no such file or directory")
            }
            if isDirectory.boolValue {
                let names: [String]
                do {
                    names = try FileManager.default.contentsOfDirectory(atPath: path)
                } catch {
                    throw .usage("\(path): cannot list the directory: \(error.localizedDescription)")
                }
                let found = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }.sorted()
                if found.isEmpty { throw .usage("\(path): the directory holds no .yaml, .yml or .json file") }
                files += found.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }
}
