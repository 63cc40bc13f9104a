import ArgumentParser
import Foundation
import SriovAPI
import SriovRender

/// `sriovctl render`: renders node specs, device-plugin config and
/// NetworkAttachmentDefinitions from files, without a server.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render node states, the device-plugin ConfigMap and NADs from files, offline.",
        discussion: """
            Reads SriovNetworkNodePolicy, SriovNetwork, v1 Node (labels) and \
            SriovNetworkNodeState (status.interfaces: the inventory) objects from \
            multi-document YAML or JSON files (- for standard input; pipes and \
            FIFOs work), or from every .yaml, .yml and .json file of a directory \
            (List wrappers are unwrapped), and prints a v1 List: \
            the node states with their rendered spec, the ConfigMap \
            device-plugin-config with one key per node, and the \
            NetworkAttachmentDefinitions. Validation errors and conflicts go to \
            stderr with exit status 1 and nothing on stdout, at most \
            --max-errors of them. An input without any object is an error \
            unless --allow-empty is given. Inputs are bounded by the decode \
            limits (file and scalar size, nesting, YAML aliases, objects per \
            List, number of policies and networks).
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case yaml, json
    }

    @Option(name: [.customShort("f"), .customLong("filename")], help: "A file or directory to read (repeatable).")
    var filenames: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: yaml or json.")
    var output: OutputFormat = .yaml

    @Option(help: "Namespace of the rendered node states and of the device-plugin ConfigMap.")
    var namespace = "sriov-network-operator"

    @Option(help: "The device plugin's resource prefix, used in the NADs' resourceName annotation.")
    var resourcePrefix = "openshift.io"

    @Option(help: "Largest input file, in bytes.")
    var maxInputBytes = DecodeLimits.defaults.maxInputBytes

    @Option(help: "Most errors printed; the others are counted.")
    var maxErrors = DecodeLimits.defaults.maxErrors

    @Flag(help: "Accept inputs without any object (and render nothing).")
    var allowEmpty = false

    func validate() throws {
        if filenames.isEmpty { throw ValidationError("at least one -f PATH is required") }
    }

    func run() throws {
        var limits = DecodeLimits.defaults
        limits.maxInputBytes = maxInputBytes
        limits.maxDocumentBytes = max(limits.maxDocumentBytes, maxInputBytes)
        limits.maxErrors = maxErrors
        var objects: [APIObject] = []
        var problems: [String] = []
        var omitted = 0
        for path in try Self.expand(filenames) {
            let source = path == "-" ? "<stdin>" : path
            do {
                let bytes = try InputFile.read(path, limit: limits.maxInputBytes)
                objects += try CRCodec.decodeObjects(
                    fromUTF8: bytes, source: source, limits: limits, allowEmpty: allowEmpty, validate: true)
            } catch let list as FieldErrorList {
                problems += list.errors.map(\.description)
                omitted += list.omitted
            } catch {
                problems.append("\(error)")
            }
        }
        if objects.isEmpty && problems.isEmpty && !allowEmpty {
            problems.append("no objects in the input (\(filenames.joined(separator: ", "))); pass --allow-empty to render nothing")
        }
        if !problems.isEmpty { fail(problems, omitted: omitted) }
        let options = OfflineRender.Options(
            render: RenderOptions(resourcePrefix: resourcePrefix), operatorNamespace: namespace, limits: limits)
        switch OfflineRender.render(objects, options: options) {
        case .success(let result):
            for warning in result.warnings.prefix(limits.maxErrors) { Self.printError("warning: " + warning) }
            if result.warnings.count > limits.maxErrors {
                Self.printError("warning: and \(result.warnings.count - limits.maxErrors) more warnings")
            }
            switch output {
            case .yaml:
                // In pieces: a fleet's render is about 1 GB of text.
                result.writeYAML { Console.out($0) }
            case .json:
                result.writeJSON(indent: 4) { Console.out($0) }
                Console.out("\n")
            }
        case .failure(let failure):
            for warning in failure.warnings.prefix(limits.maxErrors) { Self.printError("warning: " + warning) }
            fail(failure.problems, omitted: failure.omitted)
        }
    }

    /// Prints at most --max-errors problems, then how many more there were,
    /// and exits with status 1.
    func fail(_ problems: [String], omitted: Int) -> Never {
        let shown = problems.prefix(maxErrors)
        for problem in shown { Self.printError("error: " + problem) }
        let more = problems.count - shown.count + omitted
        if more > 0 { Self.printError("error: and \(more) more errors") }
        Foundation.exit(1)
    }

    /// Files named on the command line; a directory gives its .yaml, .yml and
    /// .json files (not recursive), sorted by name.
    static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            if path == "-" {
                files.append(path)
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                fail(["\(path): no such file or directory"])
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path)
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
                    .sorted()
                files += names.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files
    }

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func fail(_ problems: [String]) -> Never {
        for problem in problems { printError("error: " + problem) }
        Foundation.exit(1)
    }
}
