/// The table of supported SR-IOV NICs: for each (vendor, PF device id) the
/// device id its virtual functions report.
///
/// The renderer uses it to fill the device plugin's `devices` selector with the
/// **VF** device id of the PF a policy names (`nicSelector.deviceID`). Callers
/// can replace the table (the upstream operator reads it from the
/// `supported-nic-ids` ConfigMap); ``defaults`` mirrors upstream's
/// `deploy/configmap.yaml` plus the older Intel ixgbe entries (82599, X540)
/// that upstream's tests use.
public struct SupportedNICTable: Sendable, Hashable {
    /// One supported NIC model.
    public struct Entry: Sendable, Hashable {
        /// A short model name, e.g. "Intel_i40e_40G_XL710_QSFP".
        public var model: String
        /// PCI vendor id, lowercase hex without 0x, e.g. "8086".
        public var vendor: String
        /// PCI device id of the physical function, e.g. "1583".
        public var pfDeviceID: String
        /// PCI device id of its virtual functions, e.g. "154c".
        public var vfDeviceID: String

        public init(model: String, vendor: String, pfDeviceID: String, vfDeviceID: String) {
            self.model = model
            self.vendor = vendor
            self.pfDeviceID = pfDeviceID
            self.vfDeviceID = vfDeviceID
        }
    }

    /// The entries, in lookup order (the first match wins).
    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// The VF device id for a PF device id, matching on the device id alone as
    /// the upstream operator does (`GetVfDeviceID`); nil when unknown.
    public func vfDeviceID(forPFDeviceID deviceID: String) -> String? {
        entries.first { $0.pfDeviceID == deviceID }?.vfDeviceID
    }

    /// Whether (vendor, PF device id) is a supported model.
    public func isSupported(vendor: String, pfDeviceID: String) -> Bool {
        entries.contains { $0.vendor == vendor && $0.pfDeviceID == pfDeviceID }
    }

    /// Whether any supported model has this vendor id.
    public func isSupported(vendor: String) -> Bool {
        entries.contains { $0.vendor == vendor }
    }

    /// The built-in table.
    public static let defaults = SupportedNICTable(entries: [
        // Intel i40e (XL710 / X710 / XXV710 family): VF 154c.
        .init(model: "Intel_i40e_XXV710", vendor: "8086", pfDeviceID: "158a", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_25G_SFP28", vendor: "8086", pfDeviceID: "158b", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_10G_X710_SFP", vendor: "8086", pfDeviceID: "1572", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_X710_X557_AT_10G", vendor: "8086", pfDeviceID: "1589", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_10G_X710_BACKPLANE", vendor: "8086", pfDeviceID: "1581", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_10G_X710_BASE_T", vendor: "8086", pfDeviceID: "15ff", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_XXV710_N3000", vendor: "8086", pfDeviceID: "0d58", vfDeviceID: "154c"),
        .init(model: "Intel_i40e_40G_XL710_QSFP", vendor: "8086", pfDeviceID: "1583", vfDeviceID: "154c"),
        // Intel ixgbe.
        .init(model: "Intel_ixgbe_10G_X550", vendor: "8086", pfDeviceID: "1563", vfDeviceID: "1565"),
        .init(model: "Intel_ixgbe_82599ES", vendor: "8086", pfDeviceID: "10fb", vfDeviceID: "10ed"),
        .init(model: "Intel_ixgbe_X540", vendor: "8086", pfDeviceID: "1528", vfDeviceID: "1515"),
        // Intel ice (E810 family): VF 1889.
        .init(model: "Intel_ice_Columbiaville_E810-CQDA2_2CQDA2", vendor: "8086", pfDeviceID: "1592", vfDeviceID: "1889"),
        .init(model: "Intel_ice_Columbiaville_E810-XXVDA4", vendor: "8086", pfDeviceID: "1593", vfDeviceID: "1889"),
        .init(model: "Intel_ice_Columbiaville_E810-XXVDA2", vendor: "8086", pfDeviceID: "159b", vfDeviceID: "1889"),
        .init(model: "Intel_ice_Columbiaville_E810", vendor: "8086", pfDeviceID: "1591", vfDeviceID: "1889"),
        // NVIDIA / Mellanox mlx5.
        .init(model: "Nvidia_mlx5_ConnectX-4", vendor: "15b3", pfDeviceID: "1013", vfDeviceID: "1014"),
        .init(model: "Nvidia_mlx5_ConnectX-4LX", vendor: "15b3", pfDeviceID: "1015", vfDeviceID: "1016"),
        .init(model: "Nvidia_mlx5_ConnectX-5", vendor: "15b3", pfDeviceID: "1017", vfDeviceID: "1018"),
        .init(model: "Nvidia_mlx5_ConnectX-5_Ex", vendor: "15b3", pfDeviceID: "1019", vfDeviceID: "101a"),
        .init(model: "Nvidia_mlx5_ConnectX-6", vendor: "15b3", pfDeviceID: "101b", vfDeviceID: "101c"),
        .init(model: "Nvidia_mlx5_ConnectX-6_Dx", vendor: "15b3", pfDeviceID: "101d", vfDeviceID: "101e"),
        .init(model: "Nvidia_mlx5_ConnectX-6_Lx", vendor: "15b3", pfDeviceID: "101f", vfDeviceID: "101e"),
        .init(model: "Nvidia_mlx5_ConnectX-7", vendor: "15b3", pfDeviceID: "1021", vfDeviceID: "101e"),
        .init(model: "Nvidia_mlx5_MT42822_BlueField-2_integrated_ConnectX-6_Dx", vendor: "15b3", pfDeviceID: "a2d6", vfDeviceID: "101e"),
        .init(model: "Nvidia_mlx5_MT43244_BlueField-3_integrated_ConnectX-7_Dx", vendor: "15b3", pfDeviceID: "a2dc", vfDeviceID: "101e"),
        // Broadcom, QLogic, virtio, Marvell.
        .init(model: "Broadcom_bnxt_BCM57414_2x25G", vendor: "14e4", pfDeviceID: "16d7", vfDeviceID: "16dc"),
        .init(model: "Broadcom_bnxt_BCM75508_2x100G", vendor: "14e4", pfDeviceID: "1750", vfDeviceID: "1806"),
        .init(model: "Broadcom_bnxt_BCM57504", vendor: "14e4", pfDeviceID: "1751", vfDeviceID: "1806"),
        .init(model: "Qlogic_qede_QL45000_50G", vendor: "1077", pfDeviceID: "1654", vfDeviceID: "1664"),
        .init(model: "Red_Hat_Virtio_network_device", vendor: "1af4", pfDeviceID: "1000", vfDeviceID: "1000"),
        .init(model: "Marvell_OCTEON_TX2_CN96XX", vendor: "177d", pfDeviceID: "b200", vfDeviceID: "b203"),
        .init(model: "Marvell_OCTEON_TX2_CN98XX", vendor: "177d", pfDeviceID: "b100", vfDeviceID: "b103"),
        .init(model: "Marvell_OCTEON_Fusion_CNF95XX", vendor: "177d", pfDeviceID: "b600", vfDeviceID: "b603"),
        .init(model: "Marvell_OCTEON10_CN10XXX", vendor: "177d", pfDeviceID: "b900", vfDeviceID: "b903"),
        .init(model: "Marvell_OCTEON_Fusion_CNF105XX", vendor: "177d", pfDeviceID: "ba00", vfDeviceID: "ba03"),
    ])
}
