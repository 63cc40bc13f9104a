import ArgumentParser
import Foundation

/// `sriovctl config`: named contexts in the config file.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Manage the contexts of $XDG_CONFIG_HOME/sriovctl/config (or $SRIOVCTL_CONFIG).",
        subcommands: [View.self, UseContext.self, SetContext.self, GetContexts.self, CurrentContext.self, DeleteContext.self])

    static var path: String { ClientConfigFile.defaultPath(environment: ProcessInfo.processInfo.environment) }

    struct View: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "view", abstract: "Print the config file.")
        func run() async throws {
            await runCommand {
                Console.out(try ClientConfigFile.load(path: ConfigCommand.path).encoded())
            }
        }
    }

    struct UseContext: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "use-context", abstract: "Make NAME the current context.")
        @Argument var name: String
        func run() async throws {
            await runCommand {
                let path = ConfigCommand.path
                var file = try ClientConfigFile.load(path: path)
                guard file.context(named: name) != nil else {
                    throw CLIError.usage("no context \"\(name)\" in \(path); known: \(file.contexts.map(\.name).joined(separator: ", ").isEmpty ? "<none>" : file.contexts.map(\.name).joined(separator: ", "))")
                }
                file.currentContext = name
                try file.save(path: path)
                Console.out("Switched to context \"\(name)\".\n")
            }
        }
    }

    struct SetContext: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-context", abstract: "Create or change context NAME; relative paths are stored absolute.")
        @Argument var name: String
        @Option(help: "HOST:PORT of the controller.") var server: String?
        @Option(help: "PEM client certificate.") var tlsCert: String?
        @Option(help: "PEM private key.") var tlsKey: String?
        @Option(help: "PEM CA bundle.") var tlsCa: String?
        @Option(help: "Name the controller's certificate must carry.") var tlsServerName: String?
        @Flag(help: "Also make it the current context.") var current = false

        func run() async throws {
            await runCommand {
                let path = ConfigCommand.path
                var file = try ClientConfigFile.load(path: path)
                var c = file.context(named: name) ?? ClientConfigFile.Context(name: name)
                func absolute(_ p: String?) -> String? {
                    guard let p else { return nil }
                    return p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
                }
                if let server { c.server = server }
                if let v = absolute(tlsCert) { c.tlsCert = v }
                if let v = absolute(tlsKey) { c.tlsKey = v }
                if let v = absolute(tlsCa) { c.tlsCa = v }
                if let tlsServerName { c.tlsServerName = tlsServerName }
                let existed = file.context(named: name) != nil
                if let i = file.contexts.firstIndex(where: { $0.name == name }) { file.contexts[i] = c } else { file.contexts.append(c) }
                if current || file.currentContext == nil { file.currentContext = name }
                try file.save(path: path)
                Console.out("Context \"\(name)\" \(existed ? "modified" : "created").\n")
            }
        }
    }

    struct GetContexts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get-contexts", abstract: "List the contexts.")
        func run() async throws {
            await runCommand {
                let file = try ClientConfigFile.load(path: ConfigCommand.path)
                var t = Table(["CURRENT", "NAME", "SERVER", "CERTIFICATE"])
                for c in file.contexts {
                    t.append([c.name == file.currentContext ? "*" : "", c.name, c.server ?? "<none>", c.tlsCert ?? "<none>"])
                }
                Console.out(t.render())
            }
        }
    }

    struct CurrentContext: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "current-context", abstract: "Print the current context.")
        func run() async throws {
            await runCommand {
                let path = ConfigCommand.path
                guard let c = try ClientConfigFile.load(path: path).currentContext else {
                    throw CLIError.usage("no current context in \(path)")
                }
                Console.out(c + "\n")
            }
        }
    }

    struct DeleteContext: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-context", abstract: "Remove context NAME.")
        @Argument var name: String
        func run() async throws {
            await runCommand {
                let path = ConfigCommand.path
                var file = try ClientConfigFile.load(path: path)
                guard file.context(named: name) != nil else { throw CLIError.usage("no context \"\(name)\" in \(path)") }
                file.contexts.removeAll { $0.name == name }
                if file.currentContext == name { file.currentContext = nil }
                try file.save(path: path)
                Console.out("Deleted context \"\(name)\".\n")
            }
        }
    }
}

/// `sriovctl completion bash|zsh|fish`.
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print a shell completion script.",
        discussion: "bash: source <(sriovctl completion bash). zsh: sriovctl completion zsh > \"${fpath[1]}/_sriovctl\". fish: sriovctl completion fish | source.")

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func run() throws {
        guard let s = CompletionShell(rawValue: shell), [CompletionShell.bash, .zsh, .fish].contains(s) else {
            Console.fail(.usage("completion \(shell): expected bash, zsh or fish"))
        }
        Console.out(Sriovctl.completionScript(for: s))
    }
}
