import SriovAPI
import SriovProto

/// A node's SR-IOV device plugin configuration: the `resourceList` the
/// operator writes under the node's key of the `device-plugin-config`
/// ConfigMap.
public struct DevicePluginConfig: Sendable, Hashable {
    /// One entry per resourceName, in the order the policies were applied.
    public let resourceList: [DevicePluginResource]

    /// The JSON text exactly as the operator writes it (`json.Marshal` of the
    /// device plugin's `ResourceConfList` at the version the operator pins):
    /// `{"resourceList":[…]}`, or `{"resourceList":null}` when no policy
    /// selects the node (a nil Go slice). Computed once, at creation.
    public let jsonText: String

    public init(resourceList: [DevicePluginResource] = []) {
        self.resourceList = resourceList
        var out = "{\"resourceList\":"
        if resourceList.isEmpty {
            out += "null"
        } else {
            out.reserveCapacity(256 * resourceList.count)
            out += "["
            for (i, resource) in resourceList.enumerated() {
                if i > 0 { out += "," }
                resource.appendJSON(to: &out)
            }
            out += "]"
        }
        out += "}"
        self.jsonText = out
    }

    /// Two configs are equal when their JSON text is (what the device plugin reads).
    public static func == (a: Self, b: Self) -> Bool { a.jsonText == b.jsonText }
    public func hash(into hasher: inout Hasher) { hasher.combine(jsonText) }

    /// Builds a node's config from the policies that select it, in application
    /// order (upstream `renderDevicePluginConfigData`, `createDevicePluginResource`,
    /// `updateDevicePluginResource`).
    ///
    /// The first policy of a resourceName creates the entry: vendors, devices
    /// (the **VF** device id from `nics` for the nicSelector's PF deviceID, or
    /// the PF id itself when numVfs is 0; nothing when unknown), pfNames as
    /// written (ranges kept), rootDevices, linkTypes (`ether` / `infiniband`,
    /// only when linkType is set and deviceType is not vfio-pci), drivers
    /// (`vfio-pci` for vfio-pci policies), pciAddresses (PFs whose netFilter
    /// matches), IsRdma, NeedVhostNet, vdpaType, excludeTopology. Later
    /// policies with the same resourceName add missing list values and set
    /// excludeTopology (the last one wins); IsRdma, NeedVhostNet and vdpaType
    /// stay the first one's. Policy `default` is ignored.
    public static func render(
        sortedPolicies: [SriovV1.SriovNetworkNodePolicy],
        labels: [String: String],
        interfaces: [SriovV1.InterfaceExt],
        nics: SupportedNICTable
    ) -> DevicePluginConfig {
        render(
            selectedPolicies: NodeSpecRenderer.selected(sortedPolicies, labels: labels),
            interfaces: interfaces, nics: nics)
    }

    static func render(
        selectedPolicies: [SriovV1.SriovNetworkNodePolicy],
        interfaces: [SriovV1.InterfaceExt],
        nics: SupportedNICTable
    ) -> DevicePluginConfig {
        var list: [DevicePluginResource] = []
        for policy in selectedPolicies {
            let p = policy.spec
            if let index = list.firstIndex(where: { $0.resourceName == p.resourceName }) {
                list[index].add(policy, interfaces: interfaces, nics: nics, first: false)
            } else {
                var resource = DevicePluginResource(resourceName: p.resourceName)
                resource.selectors.isRdma = p.isRdma
                resource.selectors.needVhostNet = p.needVhostNet
                resource.selectors.vdpaType = p.vdpaType
                resource.add(policy, interfaces: interfaces, nics: nics, first: true)
                list.append(resource)
            }
        }
        return DevicePluginConfig(resourceList: list)
    }
}

/// One resource pool of the device plugin (`ResourceConfig`).
public struct DevicePluginResource: Sendable, Hashable {
    /// Overrides the device plugin's global prefix; the operator never sets it
    /// (the prefix, default `openshift.io`, is the plugin's command-line flag).
    public var resourcePrefix: String?
    /// The pool name, the policy's resourceName.
    public var resourceName: String
    /// The plugin's device type; the operator never sets it (the plugin's
    /// default `netDevice` applies).
    public var deviceType: String?
    /// Exclude the pool from topology-aware allocation.
    public var excludeTopology: Bool
    /// Which VFs belong to the pool.
    public var selectors: NetDeviceSelectors

    public init(
        resourcePrefix: String? = nil, resourceName: String, deviceType: String? = nil,
        excludeTopology: Bool = false, selectors: NetDeviceSelectors = NetDeviceSelectors()
    ) {
        self.resourcePrefix = resourcePrefix
        self.resourceName = resourceName
        self.deviceType = deviceType
        self.excludeTopology = excludeTopology
        self.selectors = selectors
    }

    /// The entry's JSON text, keys in the device plugin's struct order:
    /// resourcePrefix?, resourceName, deviceType?, excludeTopology?, selectors,
    /// then `"SelectorObj":null` (an untagged field of the pinned version).
    public var jsonText: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    func appendJSON(to out: inout String) {
        out += "{"
        if let resourcePrefix, !resourcePrefix.isEmpty {
            out += "\"resourcePrefix\":"
            GoJSON.appendQuoted(resourcePrefix, into: &out)
            out += ","
        }
        out += "\"resourceName\":"
        GoJSON.appendQuoted(resourceName, into: &out)
        if let deviceType, !deviceType.isEmpty {
            out += ",\"deviceType\":"
            GoJSON.appendQuoted(deviceType, into: &out)
        }
        if excludeTopology { out += ",\"excludeTopology\":true" }
        out += ",\"selectors\":"
        selectors.appendJSON(to: &out)
        out += ",\"SelectorObj\":null}"
    }

    mutating func add(
        _ policy: SriovV1.SriovNetworkNodePolicy, interfaces: [SriovV1.InterfaceExt],
        nics: SupportedNICTable, first: Bool
    ) {
        let p = policy.spec
        let s = p.nicSelector
        if !s.vendor.isEmpty { selectors.vendors.appendIfMissing(s.vendor) }
        if !s.deviceID.isEmpty {
            let device = p.numVfs == 0 ? s.deviceID : (nics.vfDeviceID(forPFDeviceID: s.deviceID) ?? "")
            if !device.isEmpty { selectors.devices.appendIfMissing(device) }
        }
        if first {
            selectors.pfNames.append(contentsOf: s.pfNames)
        } else {
            for name in s.pfNames { selectors.pfNames.appendIfMissing(name) }
        }
        if p.deviceType != "vfio-pci" && !p.linkType.isEmpty {
            selectors.linkTypes.appendIfMissing(p.linkType.lowercased() == "ib" ? "infiniband" : "ether")
        }
        if first {
            selectors.rootDevices.append(contentsOf: s.rootDevices)
        } else {
            for device in s.rootDevices { selectors.rootDevices.appendIfMissing(device) }
        }
        if p.deviceType == "vfio-pci" {
            if first { selectors.drivers.append("vfio-pci") } else { selectors.drivers.appendIfMissing("vfio-pci") }
        }
        if !s.netFilter.isEmpty {
            for pf in interfaces where NetFilter.matches(s.netFilter, pf.netFilter) {
                selectors.pciAddresses.appendIfMissing(pf.pciAddress)
            }
        }
        excludeTopology = p.excludeTopology
    }
}

/// The device plugin's `NetDeviceSelectors` as the operator fills them.
public struct NetDeviceSelectors: Sendable, Hashable {
    public var vendors: [String] = []
    /// VF device ids.
    public var devices: [String] = []
    public var drivers: [String] = []
    public var pciAddresses: [String] = []
    /// pfNames entries as written in the policies, `#first-last` ranges kept.
    public var pfNames: [String] = []
    /// PF PCI addresses.
    public var rootDevices: [String] = []
    /// `ether` or `infiniband`.
    public var linkTypes: [String] = []
    /// Serialized as `IsRdma` (no JSON tag in the pinned version).
    public var isRdma = false
    /// Serialized as `NeedVhostNet` (no JSON tag in the pinned version).
    public var needVhostNet = false
    public var vdpaType = ""

    public init() {}

    /// The JSON text, keys in struct order: vendors, devices, drivers,
    /// pciAddresses, pfNames, rootDevices, linkTypes (each only when
    /// non-empty), IsRdma, NeedVhostNet, vdpaType (when set).
    public var jsonText: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    func appendJSON(to out: inout String) {
        out += "{"
        func list(_ key: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            out += "\""
            out += key
            out += "\":["
            for (i, value) in values.enumerated() {
                if i > 0 { out += "," }
                GoJSON.appendQuoted(value, into: &out)
            }
            out += "],"
        }
        list("vendors", vendors)
        list("devices", devices)
        list("drivers", drivers)
        list("pciAddresses", pciAddresses)
        list("pfNames", pfNames)
        list("rootDevices", rootDevices)
        list("linkTypes", linkTypes)
        out += isRdma ? "\"IsRdma\":true," : "\"IsRdma\":false,"
        out += needVhostNet ? "\"NeedVhostNet\":true" : "\"NeedVhostNet\":false"
        if !vdpaType.isEmpty {
            out += ",\"vdpaType\":"
            GoJSON.appendQuoted(vdpaType, into: &out)
        }
        out += "}"
    }
}

extension Array where Element: Equatable {
    mutating func appendIfMissing(_ element: Element) {
        if !contains(element) { append(element) }
    }
}
