/// The simulated node's hardware, stored as `.sriov-sim/machine.json` under
/// the root so that any process opening the tree knows the models behind it.
public struct SimulatedMachine: Codable, Sendable, Hashable {
    /// One simulated PF.
    public struct PF: Codable, Sendable, Hashable {
        public var pciAddress: String
        public var model: NICModel
        /// Netdev name, e.g. `ens1f0`.
        public var name: String
        public var altNames: [String]
        /// Card number on the node (0-based) and port on the card.
        public var card: Int
        public var port: Int
        /// PCI bus of this PF's VFs; VF i is at device i/8, function i%8.
        public var vfBus: Int

        /// The PCI address of VF `index`.
        public func vfAddress(_ index: Int) -> String {
            let domain = pciAddress.split(separator: ":").first.map(String.init) ?? "0000"
            return "\(domain):\(hex2(vfBus)):\(hex2(index / 8)).\(index % 8)"
        }

        /// The netdev name VF `index` gets from its netdevice driver.
        public func vfName(_ index: Int) -> String { "\(name)v\(index)" }

        /// A stable locally administered MAC for VF `index`.
        public func vfMAC(_ index: Int) -> String {
            "02:\(hex2(card)):\(hex2(port)):00:\(hex2(index >> 8)):\(hex2(index & 0xff))"
        }

        /// The PF's MAC: the vendor's OUI, then card and port.
        public var mac: String { "\(model.oui):\(hex2(card + 1)):00:\(hex2(port))" }
    }

    public var pfs: [PF]

    public init(pfs: [PF]) { self.pfs = pfs }

    /// Lays out cards on PCI buses 0x18, 0x38, … (one bus range per card).
    public init(inventory: NICInventory) {
        var pfs: [PF] = []
        for (card, model) in inventory.cards.enumerated() {
            let bus = 0x18 + 0x20 * card
            for port in 0..<model.ports {
                pfs.append(PF(pciAddress: "0000:\(hex2(bus)):00.\(port)", model: model, name: "ens\(card + 1)f\(port)",
                              altNames: ["enp\(bus)s0f\(port)"], card: card, port: port, vfBus: bus + 1 + port))
            }
        }
        self.pfs = pfs
    }

    public func pf(_ pci: String) -> PF? { pfs.first { $0.pciAddress == pci } }

    /// The PF and VF index of a VF address, nil when it is no VF slot.
    public func vf(_ pci: String) -> (pf: PF, index: Int)? {
        let parts = pci.split(whereSeparator: { $0 == ":" || $0 == "." })
        guard parts.count == 4, let bus = Int(parts[1], radix: 16), let dev = Int(parts[2], radix: 16), let fn = Int(parts[3]) else { return nil }
        guard let pf = pfs.first(where: { $0.vfBus == bus }) else { return nil }
        let index = dev * 8 + fn
        return index < pf.model.totalVfs ? (pf, index) : nil
    }
}

/// Two lowercase hex digits.
func hex2(_ v: Int) -> String {
    let s = String(v, radix: 16)
    return s.count < 2 ? "0" + s : s
}
