import SriovAPI
import SriovProto

/// The NetworkAttachmentDefinition (`k8s.cni.cncf.io/v1`) rendered for one
/// SriovNetwork.
public struct NetworkAttachmentDefinition: Sendable, Hashable {
    /// The annotation naming the device-plugin resource pods request.
    public static let resourceNameAnnotation = "k8s.v1.cni.cncf.io/resourceName"
    /// The annotation naming the SriovNetwork that owns the NAD.
    public static let ownerAnnotation = "sriovnetwork.openshift.io/owner-ref"

    /// The network's name.
    public var name: String
    /// `spec.networkNamespace`, or the network's own namespace when empty.
    public var namespace: String
    /// `<prefix>/<resourceName>`.
    public var resourceName: String
    /// `SriovNetwork.sriovnetwork.openshift.io/<namespace>/<name>` of the network.
    public var owner: String
    /// `spec.config`: the SR-IOV CNI configuration as the operator stores it,
    /// the template output re-indented with four spaces (`json.Indent`).
    public var config: String

    /// The object: apiVersion, kind, metadata {name, namespace, annotations
    /// {resourceName, owner-ref}}, spec {config}.
    public var crValue: CRValue {
        .object([
            ("apiVersion", .string("k8s.cni.cncf.io/v1")),
            ("kind", .string("NetworkAttachmentDefinition")),
            ("metadata", .object([
                ("name", .string(name)),
                ("namespace", .string(namespace)),
                ("annotations", .object([
                    (Self.resourceNameAnnotation, .string(resourceName)),
                    (Self.ownerAnnotation, .string(owner)),
                ])),
            ])),
            ("spec", .object([("config", .string(config))])),
        ])
    }

    /// Renders a network's NAD; `resourcePrefix` is the device plugin's prefix
    /// (default `openshift.io`). Throws when a raw JSON field (ipam,
    /// capabilities, metaPlugins) makes the configuration invalid JSON.
    public static func render(
        _ network: SriovV1.SriovNetwork, resourcePrefix: String
    ) throws(NetworkRenderError) -> NetworkAttachmentDefinition {
        let template = SriovCNIConfig.templateText(network)
        let config: String
        do {
            config = try GoJSON.indent(template, indent: "    ")
        } catch {
            throw NetworkRenderError(
                namespace: network.metadata.namespace, name: network.metadata.name,
                message: "spec: the SR-IOV CNI configuration built from ipam, capabilities and metaPlugins is not valid JSON (\(error)): \(template)")
        }
        let ns = network.spec.networkNamespace.isEmpty ? network.metadata.namespace : network.spec.networkNamespace
        return NetworkAttachmentDefinition(
            name: network.metadata.name,
            namespace: ns,
            resourceName: resourcePrefix + "/" + network.spec.resourceName,
            owner: "SriovNetwork.sriovnetwork.openshift.io/\(network.metadata.namespace)/\(network.metadata.name)",
            config: config)
    }
}

/// A SriovNetwork whose NetworkAttachmentDefinition cannot be rendered.
public struct NetworkRenderError: Error, Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public var message: String
    public var description: String { "SriovNetwork \"\(namespace)/\(name)\": \(message)" }
}
