import ArgumentParser
import Foundation
import SriovAPI
import SriovGRPC
import SriovProto

/// `sriovctl version`: the client's version and what the server serves.
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the client version and the server's address and services.",
        discussion: """
            The controller has no version RPC; the server part shows that it answered over mutual \
            TLS, its health, and the gRPC services it serves (from server reflection), so a client \
            can tell whether the API it speaks is there.
            """)

    @Flag(help: "Only the client version; no server is contacted.")
    var client = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        await runCommand {
            Console.out("Client Version: sriovctl \(SriovctlVersion.client) (API \(CRCodec.apiVersion), gRPC sriov.v1)\n")
            if client { return }
            let c = try connection.client()
            var check = GrpcHealthV1.HealthCheckRequest()
            check.service = SriovV1.Operator.serviceName
            let health = try await c.call(GrpcHealthV1.Health.check, check, "checking the controller's health")
            var services: [String] = []
            do {
                services = try await c.channel.bidirectionalStreaming(GrpcReflectionV1.ServerReflection.serverReflectionInfo, timeout: c.timeout) { writer, responses in
                    var req = GrpcReflectionV1.ServerReflectionRequest()
                    req.messageRequest = .listServices("")
                    try await writer.write(req)
                    writer.finish()
                    for try await r in responses {
                        if case .listServicesResponse(let l)? = r.messageResponse { return l.service.map(\.name) }
                    }
                    return []
                }
            } catch {
                throw CLIError.rpc(error, server: c.server, what: "listing the controller's services")
            }
            Console.out("Server: \(c.server) (mutual TLS)\n")
            Console.out("Server Health: \(health.status == .serving ? "SERVING" : "\(health.status)") (\(SriovV1.Operator.serviceName))\n")
            Console.out("Server Services: \(services.sorted().joined(separator: ", "))\n")
        }
    }
}
