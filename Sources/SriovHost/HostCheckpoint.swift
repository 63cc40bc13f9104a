#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SriovProto

/// What the agent remembers across restarts and reboots, in `--state-dir`.
///
/// - `originals`: each PF's state before the agent first wrote to it, so a
///   PF that leaves the spec is put back; PFs not listed were never touched
///   and are never reset.
/// - `generation` and `interfaces`: the spec last applied, re-applied at
///   start (after a reboot the VFs are gone) without waiting for the
///   controller.
public struct HostCheckpoint: Codable, Sendable, Hashable {
    /// A PF as it was before the agent touched it.
    public struct OriginalState: Codable, Sendable, Hashable {
        /// Netdev name then, for logs.
        public var name: String
        public var numVfs: Int32
        public var mtu: Int32

        public init(name: String, numVfs: Int32, mtu: Int32) {
            self.name = name
            self.numVfs = numVfs
            self.mtu = mtu
        }
    }

    /// Format of the file; bumped on incompatible changes.
    public var version = 1
    public var originals: [String: OriginalState] = [:]
    /// The config generation last applied (0: none).
    public var generation: Int64 = 0
    /// The spec last applied.
    public var interfaces: [CheckpointInterface] = []

    public init() {}

    /// The applied spec as the proto type.
    public var spec: SriovV1.SriovNetworkNodeStateSpec {
        var s = SriovV1.SriovNetworkNodeStateSpec()
        s.interfaces = interfaces.map(\.proto)
        return s
    }
}

/// `SriovV1.Interface` as stored in the checkpoint (JSON, readable by an admin).
public struct CheckpointInterface: Codable, Sendable, Hashable {
    public struct Group: Codable, Sendable, Hashable {
        public var resourceName: String
        public var deviceType: String
        public var vfRange: String
        public var policyName: String
        public var mtu: Int32
        public var isRdma: Bool
        public var vdpaType: String
    }

    public var pciAddress: String
    public var numVfs: Int32
    public var mtu: Int32
    public var name: String
    public var linkType: String
    public var eSwitchMode: String
    public var externallyManaged: Bool
    public var vfGroups: [Group]

    public init(_ i: SriovV1.Interface) {
        pciAddress = i.pciAddress
        numVfs = i.numVfs
        mtu = i.mtu
        name = i.name
        linkType = i.linkType
        eSwitchMode = i.eSwitchMode
        externallyManaged = i.externallyManaged
        vfGroups = i.vfGroups.map {
            Group(resourceName: $0.resourceName, deviceType: $0.deviceType, vfRange: $0.vfRange, policyName: $0.policyName,
                  mtu: $0.mtu, isRdma: $0.isRdma, vdpaType: $0.vdpaType)
        }
    }

    public var proto: SriovV1.Interface {
        var i = SriovV1.Interface()
        i.pciAddress = pciAddress
        i.numVfs = numVfs
        i.mtu = mtu
        i.name = name
        i.linkType = linkType
        i.eSwitchMode = eSwitchMode
        i.externallyManaged = externallyManaged
        i.vfGroups = vfGroups.map {
            var g = SriovV1.VfGroup()
            g.resourceName = $0.resourceName
            g.deviceType = $0.deviceType
            g.vfRange = $0.vfRange
            g.policyName = $0.policyName
            g.mtu = $0.mtu
            g.isRdma = $0.isRdma
            g.vdpaType = $0.vdpaType
            return g
        }
        return i
    }
}
