import ArgumentParser
import Foundation
import SriovAPI

/// The operators' command-line tool.
@main
struct Sriovctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriovctl",
        abstract: "Operate the SR-IOV network operator.",
        discussion: """
            Talks to sriov-controller over gRPC with mutual TLS. The connection comes from \
            --server, --tls-cert, --tls-key and --tls-ca; else from SRIOVCTL_SERVER, \
            SRIOVCTL_TLS_CERT, SRIOVCTL_TLS_KEY and SRIOVCTL_TLS_CA; else from the current \
            context (or --context / SRIOVCTL_CONTEXT) of the config file \
            ($SRIOVCTL_CONFIG, default $XDG_CONFIG_HOME/sriovctl/config). A flag wins over \
            the environment, which wins over the file.

            Exit status: 0 success; 1 usage error or an input that does not validate (and \
            `wait` seeing a Failed node, or its timeout); 2 the server refused the request \
            (its status and message are printed); 3 the server is unreachable or refused the \
            client certificate.
            """,
        version: SriovctlVersion.client,
        subcommands: [
            ApplyCommand.self, GetCommand.self, DescribeCommand.self, DeleteCommand.self, WatchCommand.self,
            WaitCommand.self, RenderCommand.self, ConfigCommand.self, VersionCommand.self, CompletionCommand.self,
        ])

    /// Parses the command line; usage errors exit with status 1 (not
    /// ArgumentParser's 64), help and `--version` with 0.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            // Help and --version end with status 0.
            if exitCode(for: error) == .success { exit(withError: error) }
            if let e = error as? ExitCode { Foundation.exit(e.rawValue) }
            Console.error(fullMessage(for: error))
            Foundation.exit(CLIError.ExitStatus.usage.rawValue)
        }
    }
}

/// The client's version: the project's release.
enum SriovctlVersion {
    static let client = SriovRelease.version
}
