import ArgumentParser
import Foundation
import SriovAPI
import SriovGRPC
import SriovProto

/// `sriovctl version`: the client's version and the server's.
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the client and server versions.",
        discussion: """
            The server part comes from the controller's GetServerInfo: its version and API, its store \
            and revision, whether the replica answering leads, when it started, and the identity and \
            role the controller sees in this client's certificate. Then its health and the gRPC \
            services it serves (from server reflection). A controller without GetServerInfo (older than \
            this client) is reported as such, with its health and services.
            """)

    @Flag(help: "Only the client version; no server is contacted.")
    var client = false
    @Option(name: [.short, .customLong("output")], help: "Output format: text (the default) or json.")
    var output: String = "text"
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard ["text", "json"].contains(output) else {
            throw ValidationError("--output \"\(output)\" is not one of text, json")
        }
    }

    func run() async throws {
        await runCommand {
            let clientVersion = "sriovctl \(SriovctlVersion.client) (API \(CRCodec.apiVersion), gRPC sriov.v1)"
            let clientJSON = ["version": SriovctlVersion.client, "apiVersion": CRCodec.apiVersion]
            if client {
                print(json: ["clientVersion": clientJSON], else: "Client Version: \(clientVersion)\n")
                return
            }
            let c = try connection.client()
            let info: SriovV1.ServerInfo?
            do {
                info = try await c.channel.unary(SriovV1.Operator.getServerInfo, SriovV1.GetServerInfoRequest(), timeout: c.timeout)
            } catch let e as RPCError where e.code == .unimplemented {
                info = nil
            } catch {
                throw CLIError.rpc(error, server: c.server, what: "asking the controller for its version")
            }
            var check = GrpcHealthV1.HealthCheckRequest()
            check.service = SriovV1.Operator.serviceName
            let health = try await c.call(GrpcHealthV1.Health.check, check, "checking the controller's health")
            let services = try await listServices(c)
            let healthText = health.status == .serving ? "SERVING" : "\(health.status)"

            if output == "json" {
                var server: [String: Any] = ["address": c.server, "health": healthText, "services": services.sorted()]
                if let info {
                    server["version"] = info.version
                    server["apiVersion"] = info.apiVersion
                    server["store"] = info.store
                    server["resourceVersion"] = info.resourceVersion
                    server["leader"] = info.leader
                    if !info.replica.isEmpty { server["replica"] = info.replica }
                    server["startedAt"] = Age.timestamp(info.startedAt)
                    server["caller"] = ["identity": info.callerIdentity, "role": info.callerRole]
                }
                print(json: ["clientVersion": clientJSON, "server": server], else: "")
                return
            }
            var text = "Client Version: \(clientVersion)\n"
            if let info {
                text += "Server Version: sriov-controller \(info.version) (API \(info.apiVersion))\n"
                text += "Server: \(c.server) (mutual TLS)\n"
                let replica = info.replica.isEmpty ? "" : " (replica \(info.replica))"
                text += "Server Store: \(info.store) at revision \(info.resourceVersion); \(info.leader ? "leader" : "not the leader")\(replica)\n"
                text += "Server Started: \(Age.described(info.startedAt))\n"
                text += "Authenticated As: \(info.callerIdentity) (\(info.callerRole))\n"
            } else {
                text += "Server Version: unknown (the controller has no GetServerInfo; it is older than this client)\n"
                text += "Server: \(c.server) (mutual TLS)\n"
            }
            text += "Server Health: \(healthText) (\(SriovV1.Operator.serviceName))\n"
            text += "Server Services: \(services.sorted().joined(separator: ", "))\n"
            Console.out(text)
        }
    }

    /// The services the controller serves, from server reflection.
    private func listServices(_ c: OperatorClient) async throws(CLIError) -> [String] {
        do {
            return try await c.channel.bidirectionalStreaming(GrpcReflectionV1.ServerReflection.serverReflectionInfo, timeout: c.timeout) { writer, responses in
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
    }

    /// Prints `object` as indented JSON with sorted keys under `-o json`,
    /// `text` otherwise.
    private func print(json object: [String: Any], else text: String) {
        guard output == "json" else {
            Console.out(text)
            return
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        Console.out(String(decoding: data, as: UTF8.self) + "\n")
    }
}
