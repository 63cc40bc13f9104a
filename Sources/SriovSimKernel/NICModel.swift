/// A NIC model the simulated kernel can build: PCI ids, drivers, limits.
///
/// The numbers are those of the real cards: Intel's `sriov_totalvfs` per
/// port, Mellanox's as the firmware ships (`NUM_OF_VFS`, raised with
/// `mlxconfig` and a reboot up to 127).
public struct NICModel: Sendable, Hashable, Codable {
    /// Short name used on the command line: `xl710`, `e810`, `cx5`, `cx6`.
    public var key: String
    public var vendor: String
    public var pfDevice: String
    public var vfDevice: String
    public var pfDriver: String
    /// The driver a VF gets without `driver_override`.
    public var vfDriver: String
    /// Ports (PFs) per card.
    public var ports: Int
    public var totalVfs: Int
    /// Link speed in Mb/s.
    public var speedMbps: Int
    /// Largest MTU the driver accepts.
    public var maxMtu: Int
    /// First three MAC bytes (the vendor's OUI).
    public var oui: String

    public init(key: String, vendor: String, pfDevice: String, vfDevice: String, pfDriver: String, vfDriver: String,
                ports: Int, totalVfs: Int, speedMbps: Int, maxMtu: Int, oui: String) {
        self.key = key
        self.vendor = vendor
        self.pfDevice = pfDevice
        self.vfDevice = vfDevice
        self.pfDriver = pfDriver
        self.vfDriver = vfDriver
        self.ports = ports
        self.totalVfs = totalVfs
        self.speedMbps = speedMbps
        self.maxMtu = maxMtu
        self.oui = oui
    }

    /// Intel Ethernet Controller XL710 for 40GbE QSFP+ (i40e; VFs iavf).
    public static let xl710 = NICModel(key: "xl710", vendor: "8086", pfDevice: "1583", vfDevice: "154c", pfDriver: "i40e", vfDriver: "iavf",
                                       ports: 2, totalVfs: 64, speedMbps: 40000, maxMtu: 9702, oui: "3c:fd:fe")
    /// Intel Ethernet Controller E810-XXV for SFP (ice; VFs iavf).
    public static let e810 = NICModel(key: "e810", vendor: "8086", pfDevice: "159b", vfDevice: "1889", pfDriver: "ice", vfDriver: "iavf",
                                      ports: 2, totalVfs: 128, speedMbps: 25000, maxMtu: 9702, oui: "b4:96:91")
    /// Mellanox ConnectX-5 (mlx5_core for PF and VFs), firmware set to 16 VFs.
    public static let connectX5 = NICModel(key: "cx5", vendor: "15b3", pfDevice: "1017", vfDevice: "1018", pfDriver: "mlx5_core", vfDriver: "mlx5_core",
                                           ports: 2, totalVfs: 16, speedMbps: 100000, maxMtu: 9978, oui: "b8:59:9f")
    /// Mellanox ConnectX-6 (mlx5_core for PF and VFs), firmware set to 16 VFs.
    public static let connectX6 = NICModel(key: "cx6", vendor: "15b3", pfDevice: "101b", vfDevice: "101c", pfDriver: "mlx5_core", vfDriver: "mlx5_core",
                                           ports: 2, totalVfs: 16, speedMbps: 200000, maxMtu: 9978, oui: "0c:42:a1")

    /// Every built-in model.
    public static let all: [NICModel] = [.xl710, .e810, .connectX5, .connectX6]

    /// The model named `key`, nil if unknown.
    public static func named(_ key: String) -> NICModel? { all.first { $0.key == key.lowercased() } }
}

/// Which cards to build: `xl710:2,cx5:1` is two XL710 cards and one ConnectX-5.
public struct NICInventory: Sendable, Hashable {
    public var cards: [NICModel]

    public init(cards: [NICModel]) { self.cards = cards }

    /// The most cards one tree holds (each card gets its own PCI bus range).
    public static let maxCards = 7

    /// Parses `model[:count],...`.
    ///
    /// - Throws: ``SimulatedKernelError`` naming the bad item and the models known.
    public init(parsing text: String) throws(SimulatedKernelError) {
        var cards: [NICModel] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 1 || parts.count == 2, let model = NICModel.named(String(parts[0])) else {
                throw SimulatedKernelError("--nics item \"\(item)\" is not MODEL[:COUNT] with MODEL one of \(NICModel.all.map(\.key).joined(separator: ", "))")
            }
            let count = parts.count == 2 ? Int(parts[1]) : 1
            guard let count, count >= 1 else {
                throw SimulatedKernelError("--nics item \"\(item)\": the count must be a whole number from 1")
            }
            cards += Array(repeating: model, count: count)
        }
        guard !cards.isEmpty else { throw SimulatedKernelError("--nics is empty; expected e.g. xl710:2,cx5:1") }
        guard cards.count <= Self.maxCards else {
            throw SimulatedKernelError("--nics asks for \(cards.count) cards; a simulated node holds at most \(Self.maxCards)")
        }
        self.cards = cards
    }
}

/// A failure of the simulated kernel's own setup (not a simulated errno).
public struct SimulatedKernelError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
