import ArgumentParser

/// The operators' command-line tool.
@main
struct Sriovctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriovctl",
        abstract: "Operate the SR-IOV network operator.",
        subcommands: [RenderCommand.self])
}
