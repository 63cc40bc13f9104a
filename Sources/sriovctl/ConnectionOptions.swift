import ArgumentParser
import Foundation
import SriovGRPC

/// How to reach the controller: flags, then `SRIOVCTL_*` environment
/// variables, then the config file's context.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The controller, HOST:PORT ($SRIOVCTL_SERVER).")
    var server: String?
    @Option(help: "PEM client certificate ($SRIOVCTL_TLS_CERT).")
    var tlsCert: String?
    @Option(help: "PEM private key of the client certificate ($SRIOVCTL_TLS_KEY).")
    var tlsKey: String?
    @Option(help: "PEM CA bundle the controller's certificate must chain to ($SRIOVCTL_TLS_CA).")
    var tlsCa: String?
    @Option(help: "Name the controller's certificate must carry (default: the server's host) ($SRIOVCTL_TLS_SERVER_NAME).")
    var tlsServerName: String?
    @Option(help: "The config file's context to use instead of its current one ($SRIOVCTL_CONTEXT).")
    var context: String?
    @Option(help: "How long one request may take, e.g. 30s, 2m.")
    var requestTimeout: String = "30s"

    /// The merged settings.
    struct Resolved: Equatable {
        var server: String
        var tlsCert: String
        var tlsKey: String
        var tlsCa: String
        var tlsServerName: String?
        /// Where each setting came from, for error messages.
        var context: String?
    }

    /// Merges flags, environment and config file; names what is missing.
    func resolve(environment env: [String: String] = ProcessInfo.processInfo.environment) throws(CLIError) -> Resolved {
        let path = ClientConfigFile.defaultPath(environment: env)
        let file = try ClientConfigFile.load(path: path)
        let contextName = context ?? env["SRIOVCTL_CONTEXT"].flatMap { $0.isEmpty ? nil : $0 } ?? file.currentContext
        var fromFile: ClientConfigFile.Context?
        if let contextName {
            guard let c = file.context(named: contextName) else {
                let known = file.contexts.map(\.name)
                throw .usage("context \"\(contextName)\" is not in \(path)" + (known.isEmpty ? " (it has no contexts)" : "; known: \(known.joined(separator: ", "))"))
            }
            fromFile = c
        }
        func pick(_ flag: String?, _ variable: String, _ file: String?, _ option: String) throws(CLIError) -> String {
            if let flag, !flag.isEmpty { return flag }
            if let v = env[variable], !v.isEmpty { return v }
            if let file, !file.isEmpty { return file }
            throw .usage("no \(option) given: pass \(option), set \(variable), or use a context (sriovctl config set-context)")
        }
        let server = try pick(self.server, "SRIOVCTL_SERVER", fromFile?.server, "--server")
        let cert = try pick(tlsCert, "SRIOVCTL_TLS_CERT", fromFile?.tlsCert, "--tls-cert")
        let key = try pick(tlsKey, "SRIOVCTL_TLS_KEY", fromFile?.tlsKey, "--tls-key")
        let ca = try pick(tlsCa, "SRIOVCTL_TLS_CA", fromFile?.tlsCa, "--tls-ca")
        let name = tlsServerName ?? env["SRIOVCTL_TLS_SERVER_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? fromFile?.tlsServerName
        return Resolved(server: server, tlsCert: cert, tlsKey: key, tlsCa: ca, tlsServerName: name, context: fromFile?.name)
    }

    /// The request timeout as a duration.
    func timeout() throws(CLIError) -> Duration {
        guard let d = DurationText.parse(requestTimeout), d > .zero else {
            throw .usage("--request-timeout \(requestTimeout) is not a duration such as 30s, 2m, 500ms")
        }
        return d
    }

    /// A client of the controller's Operator service.
    func client() throws(CLIError) -> OperatorClient {
        let r = try resolve()
        for (option, path) in [("--tls-cert", r.tlsCert), ("--tls-key", r.tlsKey), ("--tls-ca", r.tlsCa)] where !FileManager.default.isReadableFile(atPath: path) {
            throw .usage("\(option) \(path): no such readable file")
        }
        let target: BindTarget
        do {
            target = try BindTarget(parsing: r.server)
        } catch {
            throw .usage("--server \(r.server): \(error)")
        }
        var config = ClientConfiguration(
            target: target,
            security: .tls(TLSConfiguration(certificatePath: r.tlsCert, privateKeyPath: r.tlsKey, trustRootsPath: r.tlsCa), serverName: r.tlsServerName))
        config.userAgent = "sriovctl/\(SriovctlVersion.client)"
        let channel: GRPCChannel
        do {
            channel = try GRPCChannel(configuration: config)
        } catch {
            throw CLIError(.unreachable, "cannot use the client certificate or CA: \(error)")
        }
        return OperatorClient(channel: channel, server: r.server, timeout: try timeout())
    }
}

/// Durations as users type them: `90s`, `2m`, `500ms`, `1h`, `1m30s`.
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        var total = Duration.zero
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ms": scale = 0.001
            case "s", "": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            total += .milliseconds(Int64((value * scale * 1000).rounded()))
        }
        return total
    }
}
