import ArgumentParser
import SriovAPI

/// `sriov-agent`: the node agent, and `sriov-agent simulate` for a
/// simulated node.
@main
struct SriovAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov-agent",
        abstract: "The SR-IOV network operator's node agent.",
        version: SriovRelease.version,
        subcommands: [RunCommand.self, SimulateCommand.self],
        defaultSubcommand: RunCommand.self)
}
