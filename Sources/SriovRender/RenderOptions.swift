/// Settings of a render.
public struct RenderOptions: Sendable, Hashable {
    /// The supported-NIC table used to map a PF device id to its VF device id.
    public var supportedNICs: SupportedNICTable
    /// The device plugin's resource prefix, used in the NADs'
    /// `k8s.v1.cni.cncf.io/resourceName` annotation.
    public var resourcePrefix: String

    public init(supportedNICs: SupportedNICTable = .defaults, resourcePrefix: String = "openshift.io") {
        self.supportedNICs = supportedNICs
        self.resourcePrefix = resourcePrefix
    }

    /// The built-in NIC table and the prefix `openshift.io` (the upstream
    /// operator's default `RESOURCE_PREFIX`).
    public static var defaults: Self { Self() }
}
