import Foundation
import SriovAPI

/// The `sriovctl` config file: named contexts, each a controller address and
/// the client certificate to present, like a kubeconfig.
///
/// ```yaml
/// apiVersion: sriovctl/v1
/// kind: Config
/// current-context: demo
/// contexts:
/// - name: demo
///   server: 127.0.0.1:7443
///   tls-cert: /etc/sriov/operator-admin.crt
///   tls-key: /etc/sriov/operator-admin.key
///   tls-ca: /etc/sriov/ca.crt
/// ```
struct ClientConfigFile: Equatable {
    /// One named connection.
    struct Context: Equatable {
        var name: String
        var server: String?
        var tlsCert: String?
        var tlsKey: String?
        var tlsCa: String?
        var tlsServerName: String?
    }

    var currentContext: String?
    var contexts: [Context] = []

    static let fields = ["server", "tls-cert", "tls-key", "tls-ca", "tls-server-name"]

    /// `$SRIOVCTL_CONFIG`, else `$XDG_CONFIG_HOME/sriovctl/config`, else
    /// `$HOME/.config/sriovctl/config`.
    static func defaultPath(environment env: [String: String]) -> String {
        if let p = env["SRIOVCTL_CONFIG"], !p.isEmpty { return p }
        if let x = env["XDG_CONFIG_HOME"], !x.isEmpty { return x + "/sriovctl/config" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.config/sriovctl/config"
    }

    /// Reads the file; a missing file is an empty config.
    static func load(path: String) throws(CLIError) -> ClientConfigFile {
        guard FileManager.default.fileExists(atPath: path) else { return ClientConfigFile() }
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path, limit: 1 << 20)
        } catch {
            throw .usage("\(error)")
        }
        let documents: [CRValue]
        do {
            documents = try CRValue.parseDocuments(utf8: bytes, source: path)
        } catch {
            throw .usage("\(error)")
        }
        guard let doc = documents.first else { return ClientConfigFile() }
        return try decode(doc, source: path)
    }

    static func decode(_ doc: CRValue, source: String) throws(CLIError) -> ClientConfigFile {
        guard case .object(let top) = doc else { throw .usage("\(source): expected a mapping with contexts") }
        var config = ClientConfigFile()
        for (key, value) in top {
            switch key {
            case "apiVersion", "kind": break
            case "current-context":
                guard case .string(let s) = value else { throw .usage("\(source): current-context: expected a string") }
                config.currentContext = s.isEmpty ? nil : s
            case "contexts":
                guard case .array(let items) = value else { throw .usage("\(source): contexts: expected a list") }
                for (i, item) in items.enumerated() {
                    config.contexts.append(try decodeContext(item, path: "\(source): contexts[\(i)]"))
                }
            default:
                throw .usage("\(source): unknown field \"\(key)\"; expected apiVersion, kind, current-context, contexts")
            }
        }
        return config
    }

    static func decodeContext(_ value: CRValue, path: String) throws(CLIError) -> Context {
        guard case .object(let pairs) = value else { throw .usage("\(path): expected a mapping") }
        var c = Context(name: "")
        for (key, v) in pairs {
            guard case .string(let s) = v else { throw .usage("\(path).\(key): expected a string") }
            switch key {
            case "name": c.name = s
            case "server": c.server = s
            case "tls-cert": c.tlsCert = s
            case "tls-key": c.tlsKey = s
            case "tls-ca": c.tlsCa = s
            case "tls-server-name": c.tlsServerName = s
            default: throw .usage("\(path): unknown field \"\(key)\"; expected name, \(fields.joined(separator: ", "))")
            }
        }
        if c.name.isEmpty { throw .usage("\(path).name: a context needs a name") }
        return c
    }

    func context(named name: String) -> Context? { contexts.first { $0.name == name } }

    /// The file's text.
    func encoded() -> String {
        var top: [(key: String, value: CRValue)] = [
            ("apiVersion", .string("sriovctl/v1")), ("kind", .string("Config")),
            ("current-context", .string(currentContext ?? "")),
        ]
        top.append(("contexts", .array(contexts.map { c in
            var pairs: [(key: String, value: CRValue)] = [("name", .string(c.name))]
            for (key, value) in [("server", c.server), ("tls-cert", c.tlsCert), ("tls-key", c.tlsKey), ("tls-ca", c.tlsCa), ("tls-server-name", c.tlsServerName)] {
                if let value { pairs.append((key, .string(value))) }
            }
            return .object(pairs)
        })))
        return CRValue.object(top).yamlString()
    }

    /// Writes the file (mode 0600: it names key files), creating its folder.
    func save(path: String) throws(CLIError) {
        let dir = (path as NSString).deletingLastPathComponent
        do {
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let tmp = path + ".tmp"
            guard FileManager.default.createFile(atPath: tmp, contents: Data(encoded().utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CLIError.usage("\(path): cannot write")
            }
            guard Foundation.rename(tmp, path) == 0 else {
                throw CLIError.usage("\(path): cannot write: \(String(cString: strerror(errno)))")
            }
        } catch let e as CLIError {
            throw e
        } catch {
            throw .usage("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
