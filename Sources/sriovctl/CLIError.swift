import Foundation
import SriovGRPC

/// A failure of a `sriovctl` command: the lines to print on standard error
/// and the exit status, as `sriovctl --help` documents them.
struct CLIError: Error, CustomStringConvertible {
    /// Exit statuses of `sriovctl`.
    enum ExitStatus: Int32 {
        /// A usage error or an input that does not validate.
        case usage = 1
        /// The server answered and refused the request.
        case refused = 2
        /// The server could not be reached, or refused the certificate.
        case unreachable = 3
    }

    var status: ExitStatus
    /// One line per problem, without the `error: ` prefix.
    var lines: [String]

    init(_ status: ExitStatus, _ lines: [String]) {
        self.status = status
        self.lines = lines
    }

    init(_ status: ExitStatus, _ line: String) {
        self.init(status, [line])
    }

    static func usage(_ line: String) -> CLIError { CLIError(.usage, line) }

    var description: String { lines.joined(separator: "\n") }

    /// The error of a failed call: `what` (e.g. `applying
    /// sriovnetworknodepolicy/policy-1`) and the server's status and message,
    /// or why the server could not be reached.
    static func rpc(_ error: any Error, server: String, what: String) -> CLIError {
        guard let e = error as? RPCError else {
            return CLIError(.unreachable, "\(what): cannot reach the controller at \(server): \(error)")
        }
        switch e.code {
        case .unavailable:
            return CLIError(.unreachable, "\(what): cannot reach the controller at \(server): \(e.message)")
        case .unauthenticated:
            return CLIError(.unreachable, "\(what): the controller at \(server) refused the client certificate: \(e.message)")
        case .deadlineExceeded where e.message.contains("waiting for a connection") || e.message.contains("before the call was sent"):
            return CLIError(.unreachable, "\(what): cannot reach the controller at \(server): \(e.message)")
        default:
            return CLIError(.refused, "\(what): the server said \(e.code): \(e.message)")
        }
    }
}

/// Output helpers shared by the commands.
enum Console {
    /// Writes `line` and a newline to standard error.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes `text` to standard output as it is.
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Prints the error's lines and exits with its status.
    static func fail(_ error: CLIError) -> Never {
        for line in error.lines { Self.error("error: " + line) }
        exit(error.status.rawValue)
    }
}

/// Runs a command body, turning any failure into one clear line per problem
/// and the documented exit status (never a stack trace).
func runCommand(_ body: () async throws -> Void) async -> Never {
    do {
        try await body()
        exit(0)
    } catch let e as CLIError {
        Console.fail(e)
    } catch {
        Console.fail(CLIError(.usage, "\(error)"))
    }
}
