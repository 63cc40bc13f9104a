import Foundation
import SriovAPI

/// Where the Kubernetes API server is and how to authenticate to it.
///
/// Built from the in-cluster environment (service-account token and CA,
/// `KUBERNETES_SERVICE_HOST`/`_PORT`) or from a kubeconfig file's current
/// context (server, CA, client certificate or bearer token).
public struct KubeConfig: Sendable, Hashable {
    /// Host name or IP address of the API server.
    public var host: String
    /// TCP port of the API server.
    public var port: Int
    /// PEM CA bundle the server's certificate must chain to.
    public var caPath: String?
    /// PEM client certificate and key, for certificate authentication.
    public var clientCertificatePath: String?
    public var clientKeyPath: String?
    /// Bearer token, read once.
    public var token: String?
    /// File the bearer token is read from on every connection (projected
    /// service-account tokens rotate).
    public var tokenPath: String?
    /// Default namespace of the context (or of the service account).
    public var namespace: String?

    public init(host: String, port: Int, caPath: String? = nil, token: String? = nil) {
        self.host = host
        self.port = port
        self.caPath = caPath
        self.token = token
    }

    /// The service account's directory inside a pod.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`_PORT`, the
    /// token, CA and namespace of the mounted service account.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws(KubeError) -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubeError(.configuration, "in-cluster config: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)")
        }
        let portText = environment["KUBERNETES_SERVICE_PORT"] ?? "443"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw KubeError(.configuration, "in-cluster config: KUBERNETES_SERVICE_PORT \"\(portText)\" is not a port (1-65535)")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeError(.configuration, "in-cluster config: no service-account token at \(tokenPath)")
        }
        var config = KubeConfig(host: host, port: port, caPath: directory + "/ca.crt")
        config.tokenPath = tokenPath
        config.namespace = (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return config
    }

    /// The current context of a kubeconfig file. Inline `*-data` fields are
    /// written to files 0600 in `materializeDirectory`.
    public static func load(kubeconfig path: String, context: String? = nil, materializeDirectory: String? = nil)
        throws(KubeError) -> KubeConfig
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubeError(.configuration, "kubeconfig \(path): cannot be read: \(error.localizedDescription)")
        }
        let root: CRValue
        do {
            root = try CRValue.parseDocument(text, source: path)
        } catch {
            throw KubeError(.configuration, "kubeconfig \(path): \(error)")
        }
        func fail(_ what: String) -> KubeError { KubeError(.configuration, "kubeconfig \(path): \(what)") }
        func named(_ list: String, _ name: String) -> CRValue? {
            guard case .array(let items)? = root[list] else { return nil }
            return items.first { $0["name"] == .string(name) }
        }
        guard let contextName = context ?? root["current-context"]?.stringValue, !contextName.isEmpty else {
            throw fail("current-context is not set (pass a context)")
        }
        guard let ctx = named("contexts", contextName)?["context"] else {
            throw fail("contexts: no context named \"\(contextName)\"")
        }
        guard let clusterName = ctx["cluster"]?.stringValue, let cluster = named("clusters", clusterName)?["cluster"] else {
            throw fail("context \"\(contextName)\": its cluster is not in clusters")
        }
        guard let server = cluster["server"]?.stringValue, let url = URLComponents(string: server),
            url.scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw fail("cluster \"\(clusterName)\": server \(cluster["server"]?.stringValue ?? "(none)") must be an https:// URL")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String?) -> String? {
            guard let file, !file.isEmpty else { return nil }
            return file.hasPrefix("/") ? file : base + "/" + file
        }
        func inline(_ value: CRValue?, _ name: String) throws(KubeError) -> String? {
            guard let b64 = value?.stringValue, !b64.isEmpty else { return nil }
            guard let data = Data(base64Encoded: b64, options: .ignoreUnknownCharacters) else {
                throw fail("\(name) is not base64")
            }
            let dir = materializeDirectory ?? NSTemporaryDirectory()
            let file = dir + "/sriov-mirror-\(getpid())-\(name)"
            guard FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw fail("cannot write \(name) to \(file)")
            }
            return file
        }
        var config = KubeConfig(host: host, port: url.port ?? 443)
        let inlineCA = try inline(cluster["certificate-authority-data"], "certificate-authority-data")
        config.caPath = resolve(cluster["certificate-authority"]?.stringValue) ?? inlineCA
        if let userName = ctx["user"]?.stringValue, let user = named("users", userName)?["user"] {
            let inlineCert = try inline(user["client-certificate-data"], "client-certificate-data")
            let inlineKey = try inline(user["client-key-data"], "client-key-data")
            config.clientCertificatePath = resolve(user["client-certificate"]?.stringValue) ?? inlineCert
            config.clientKeyPath = resolve(user["client-key"]?.stringValue) ?? inlineKey
            config.token = user["token"]?.stringValue
            config.tokenPath = resolve(user["tokenFile"]?.stringValue)
            if (config.clientCertificatePath == nil) != (config.clientKeyPath == nil) {
                throw fail("user \"\(userName)\": client-certificate and client-key go together")
            }
        }
        config.namespace = ctx["namespace"]?.stringValue
        return config
    }

    /// The bearer token to send now, if any.
    func currentToken() -> String? {
        if let tokenPath, let text = try? String(contentsOfFile: tokenPath, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return token
    }
}

extension CRValue {
    /// The string of a `.string` value; nil otherwise.
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
