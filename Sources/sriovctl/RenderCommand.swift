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
            multi-document YAML or JSON files, or from every .yaml, .yml and .json \
            file of a directory (List wrappers are unwrapped), and prints a v1 List: \
            the node states with their rendered spec, the ConfigMap \
            device-plugin-config with one key per node, and the \
            NetworkAttachmentDefinitions. Validation errors and conflicts go to \
            stderr with exit status 1 and nothing on stdout.
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

    func validate() throws {
        if filenames.isEmpty { throw ValidationError("at least one -f PATH is required") }
    }

    func run() throws {
        var objects: [APIObject] = []
        var problems: [String] = []
        for path in try Self.expand(filenames) {
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                objects += try CRCodec.decodeObjects(from: text, source: path)
            } catch let list as FieldErrorList {
                problems += list.errors.map(\.description)
            } catch {
                problems.append("\(path): \(error)")
            }
        }
        if !problems.isEmpty { Self.fail(problems) }
        let options = OfflineRender.Options(
            render: RenderOptions(resourcePrefix: resourcePrefix), operatorNamespace: namespace)
        switch OfflineRender.render(objects, options: options) {
        case .success(let result):
            for warning in result.warnings { Self.printError("warning: " + warning) }
            switch output {
            case .yaml: print(result.list.yamlString(), terminator: "")
            case .json: print(result.list.jsonString(indent: 4))
            }
        case .failure(let failure):
            for warning in failure.warnings { Self.printError("warning: " + warning) }
            Self.fail(failure.problems)
        }
    }

    /// Files named on the command line; a directory gives its .yaml, .yml and
    /// .json files (not recursive), sorted by name.
    static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
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
