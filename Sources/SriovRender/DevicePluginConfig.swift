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
        // Written as bytes and made a String once: a node's config is a few
        // kilobytes of short pieces, and appending to a String costs several
        // times more per piece.
        var out: [UInt8] = []
        out.reserveCapacity(32 + 256 * resourceList.count)
        out.appendLiteral("{\"resourceList\":")
        if resourceList.isEmpty {
            out.appendLiteral("null")
        } else {
            out.append(UInt8(ascii: "["))
            for i in resourceList.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                resourceList[i].appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        self.jsonText = String(decoding: out, as: UTF8.self)
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
        // By index: iterating an array of policies copies each one.
        for i in selectedPolicies.indices {
            add(selectedPolicies[i], to: &list, interfaces: interfaces, nics: nics)
        }
        return DevicePluginConfig(resourceList: list)
    }

    /// ``render(selectedPolicies:interfaces:nics:)`` for compiled policies.
    static func render(
        compiled: [CompiledPolicy], interfaces: [SriovV1.InterfaceExt], nics: SupportedNICTable
    ) -> DevicePluginConfig {
        var list: [DevicePluginResource] = []
        for policy in compiled { add(policy.policy, to: &list, interfaces: interfaces, nics: nics) }
        return DevicePluginConfig(resourceList: list)
    }

    /// Adds one policy: to the entry of its resourceName, or as a new entry.
    private static func add(
        _ policy: SriovV1.SriovNetworkNodePolicy, to list: inout [DevicePluginResource],
        interfaces: [SriovV1.InterfaceExt], nics: SupportedNICTable
    ) {
        let resourceName = policy.spec.resourceName
        var index = 0
        while index < list.count && list[index].resourceName != resourceName { index += 1 }
        if index < list.count {
            list[index].add(policy, interfaces: interfaces, nics: nics, first: false)
        } else {
            var resource = DevicePluginResource(resourceName: resourceName)
            resource.selectors.isRdma = policy.spec.isRdma
            resource.selectors.needVhostNet = policy.spec.needVhostNet
            resource.selectors.vdpaType = policy.spec.vdpaType
            resource.add(policy, interfaces: interfaces, nics: nics, first: true)
            list.append(resource)
        }
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
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        if let resourcePrefix, !resourcePrefix.isEmpty {
            out.appendLiteral("\"resourcePrefix\":")
            GoJSON.appendQuoted(resourcePrefix, into: &out)
            out.append(UInt8(ascii: ","))
        }
        out.appendLiteral("\"resourceName\":")
        GoJSON.appendQuoted(resourceName, into: &out)
        if let deviceType, !deviceType.isEmpty {
            out.appendLiteral(",\"deviceType\":")
            GoJSON.appendQuoted(deviceType, into: &out)
        }
        if excludeTopology { out.appendLiteral(",\"excludeTopology\":true") }
        out.appendLiteral(",\"selectors\":")
        selectors.appendJSON(to: &out)
        out.appendLiteral(",\"SelectorObj\":null}")
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
        var out: [UInt8] = []
        appendJSON(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        func list(_ key: StaticString, _ values: [String]) {
            guard !values.isEmpty else { return }
            out.append(UInt8(ascii: "\""))
            out.appendLiteral(key)
            out.appendLiteral("\":[")
            for (i, value) in values.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                GoJSON.appendQuoted(value, into: &out)
            }
            out.appendLiteral("],")
        }
        list("vendors", vendors)
        list("devices", devices)
        list("drivers", drivers)
        list("pciAddresses", pciAddresses)
        list("pfNames", pfNames)
        list("rootDevices", rootDevices)
        list("linkTypes", linkTypes)
        out.appendLiteral(isRdma ? "\"IsRdma\":true," : "\"IsRdma\":false,")
        out.appendLiteral(needVhostNet ? "\"NeedVhostNet\":true" : "\"NeedVhostNet\":false")
        if !vdpaType.isEmpty {
            out.appendLiteral(",\"vdpaType\":")
            GoJSON.appendQuoted(vdpaType, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

extension [UInt8] {
    /// Appends the UTF-8 bytes of a literal.
    mutating func appendLiteral(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }
}

extension Array where Element: Equatable {
    mutating func appendIfMissing(_ element: Element) {
        if !contains(element) { append(element) }
    }
}
