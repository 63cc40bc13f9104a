import ArgumentParser
import Dispatch
import Foundation
import Logging
import SriovAPI
import SriovGRPC
import SriovMirror

/// `sriov-mirror`: keeps the Kubernetes cluster in step with the controller.
///
/// A program of its own rather than a controller subcommand: it has its own
/// identity (a viewer certificate; an operator one only with
/// --sync-desired-state) and its own failure domain, so a slow or absent API
/// server delays the mirror and never the controller, and the controller
/// needs no Kubernetes credentials at all.
@main
struct SriovMirrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov-mirror",
        abstract: "Mirror the controller's node states, NetworkAttachmentDefinitions and device-plugin config into Kubernetes.",
        version: SriovRelease.version)

    @Option(help: "The controller: HOST:PORT.")
    var controller: String
    @Option(help: "PEM client certificate for the controller (a viewer; an operator with --sync-desired-state).")
    var tlsCert: String
    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String
    @Option(help: "PEM CA bundle the controller's certificate must chain to.")
    var tlsCa: String
    @Option(help: "Server name expected in the controller's certificate (default: the host of --controller).")
    var controllerServerName: String?
    @Option(help: "A kubeconfig file (its current context); without it the in-cluster config is used.")
    var kubeconfig: String?
    @Option(help: "The kubeconfig context to use instead of current-context.")
    var context: String?
    @Option(help: "Namespace of the SriovNetworkNodeStates and the device-plugin ConfigMap.")
    var namespace: String = "sriov-network-operator"
    @Option(help: "Name of the device-plugin ConfigMap.")
    var configMap: String = "device-plugin-config"
    @Option(help: "Seconds between full listings of what the mirror owns in the cluster.")
    var resyncSeconds: Int = 300
    @Flag(help: "Apply SriovNetworkNodePolicy and SriovNetwork CRs of the cluster to the controller and write its verdict back (needs an operator certificate).")
    var syncDesiredState = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    mutating func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \"\(logLevel)\": accepted: trace, debug, info, notice, warning, error, critical")
        }
        guard resyncSeconds >= 1 else { throw ValidationError("--resync-seconds \(resyncSeconds): must be 1 or more") }
        for (flag, path) in [("--tls-cert", tlsCert), ("--tls-key", tlsKey), ("--tls-ca", tlsCa)] {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ValidationError("\(flag) \(path): not a readable file")
            }
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "sriov-mirror")
        let target: BindTarget
        do {
            target = try BindTarget(parsing: controller)
        } catch {
            throw ValidationError("--controller \(controller): \(error)")
        }
        let kubeConfig: KubeConfig
        do {
            kubeConfig = try kubeconfig.map { try KubeConfig.load(kubeconfig: $0, context: context) } ?? KubeConfig.inCluster()
        } catch {
            throw ValidationError("\(error)")
        }
        var configuration = MirrorConfiguration()
        configuration.namespace = namespace
        configuration.configMapName = configMap
        configuration.resyncInterval = .seconds(resyncSeconds)
        configuration.syncDesiredState = syncDesiredState

        let client = ClientConfiguration(
            target: target,
            security: .tls(
                TLSConfiguration(certificatePath: tlsCert, privateKeyPath: tlsKey, trustRootsPath: tlsCa),
                serverName: controllerServerName))
        let channel = try GRPCChannel(configuration: client)
        let kube = try KubeClient(config: kubeConfig)
        let mirror = ClusterMirror(configuration: configuration, controller: channel, kube: kube, logger: logger)
        logger.info(
            "sriov-mirror started",
            metadata: ["controller": "\(controller)", "apiserver": "\(kubeConfig.host):\(kubeConfig.port)", "namespace": "\(namespace)"])

        let signals = SignalWatcher([SIGTERM, SIGINT])
        let task = Task { await mirror.run() }
        for await signal in signals.stream {
            logger.info("stopping", metadata: ["signal": "\(signal)"])
            break
        }
        task.cancel()
        await task.value
        channel.close()
    }
}

