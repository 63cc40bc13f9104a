// Render benchmark: a full render of 5,000 nodes × 8 PFs × 100 policies, and
// one policy change re-rendered incrementally, in two fleets:
//
// - shared hardware: every node has the same PCI addresses and names (only
//   MACs and link speeds differ), so nodes of one pool share their output;
// - distinct hardware: every node has its own PCI addresses (PCI domain = node)
//   and its own altNames, so no two nodes share anything and every node is
//   rendered on its own. The rootDevices policies list the addresses of their
//   pool's nodes so that they select the same PFs as in the shared fleet.
//
// Prints the median of several runs and the ratio of each incremental change
// to the full render. Build and run with `swift run -c release sriov-render-bench`
// (add `shared` or `distinct` to run one fleet, `alone` for a profiling workload).
//
// Goal on the reference machine (2 cores): full render <= 200 ms in either
// fleet, one pool-scoped policy change <= 10 ms. The numbers are printed, not
// asserted.

import Foundation
import SriovProto
import SriovRender

let nodeCount = 5_000
let poolCount = 50
let runs = 7

/// The 8 PFs of every node: two ports each of XL710, XXV710, E810, ConnectX-5.
/// With `node` set, the PCI domain is the node's number and every PF gets an
/// altName of its own, so the inventory is unlike any other node's.
func inventory(node: Int? = nil) -> [SriovV1.InterfaceExt] {
    let models: [(vendor: String, device: String, driver: String, totalvfs: Int32)] = [
        ("8086", "1583", "i40e", 64), ("8086", "158b", "i40e", 64),
        ("8086", "159b", "ice", 128), ("15b3", "1017", "mlx5_core", 16),
    ]
    var pfs: [SriovV1.InterfaceExt] = []
    for (card, model) in models.enumerated() {
        for port in 0..<2 {
            var pf = SriovV1.InterfaceExt()
            pf.name = "ens\(card + 1)f\(port)"
            pf.pciAddress = pciAddress(node: node, card: card, port: port)
            if let node { pf.altNames = ["enp\(card + 1)s0f\(port)n\(node)"] }
            pf.vendor = model.vendor
            pf.deviceID = model.device
            pf.driver = model.driver
            pf.totalvfs = model.totalvfs
            pf.mtu = 1500
            pf.linkType = "ETH"
            pfs.append(pf)
        }
    }
    return pfs
}

/// `0000:18:00.0` for card 0 port 0; the domain is the node's number when given.
func pciAddress(node: Int?, card: Int, port: Int) -> String {
    let domain = String(node.map { $0 + 1 } ?? 0, radix: 16)
    return String(repeating: "0", count: 4 - domain.count) + domain
        + ":\(String(0x18 + card * 0x20, radix: 16)):00.\(port)"
}

func hex(_ v: Int) -> String {
    let s = String(v, radix: 16)
    return s.count == 1 ? "0" + s : s
}

func makeNodes(distinct: Bool) -> [RenderNode] {
    return (0..<nodeCount).map { i in
        // Every node reports its own MACs and link speeds, as real agents do.
        let pfs = inventory(node: distinct ? i : nil).enumerated().map { index, pf in
            var pf = pf
            pf.mac = "02:00:\(hex(i >> 8)):\(hex(i & 0xff)):\(hex(index)):00"
            pf.linkSpeed = i % 3 == 0 ? "25000 Mb/s" : "100000 Mb/s"
            return pf
        }
        return RenderNode(
            name: "worker-\(i)",
            labels: [
                "kubernetes.io/hostname": "worker-\(i)",
                "kubernetes.io/os": "linux",
                "node-role.kubernetes.io/worker": "",
                "feature.node.kubernetes.io/sriov-capable": "true",
                "pool": "pool-\(i % poolCount)",
                "rack": "rack-\(i % 200)",
            ],
            interfaces: pfs)
    }
}

/// 10 cluster-wide policies partitioning ens1f0 and ens1f1 into VF ranges, and
/// 90 policies scoped to one pool each (100 nodes) configuring the other PFs.
/// In the distinct fleet the rootDevices policies list the PF of every node of
/// their pool.
func makePolicies(distinct: Bool) -> [SriovV1.SriovNetworkNodePolicy] {
    var policies: [SriovV1.SriovNetworkNodePolicy] = []
    for k in 0..<10 {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = "cluster-\(k)"
        p.spec.resourceName = "cluster_\(k)"
        p.spec.priority = 50
        p.spec.numVfs = 40
        p.spec.nodeSelector = ["feature.node.kubernetes.io/sriov-capable": "true"]
        p.spec.nicSelector.vendor = "8086"
        p.spec.nicSelector.pfNames = ["ens1f\(k % 2)#\(k / 2 * 8)-\(k / 2 * 8 + 7)"]
        p.spec.deviceType = k % 3 == 0 ? "vfio-pci" : "netdevice"
        policies.append(p)
    }
    for k in 10..<100 {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = "pool-policy-\(k)"
        p.spec.resourceName = "pool_\(k)"
        p.spec.priority = Int32(k % 7 * 10)
        p.spec.nodeSelector = ["pool": "pool-\(k % poolCount)"]
        switch k % 3 {
        case 0:
            p.spec.numVfs = 16
            p.spec.nicSelector.vendor = "8086"
            p.spec.nicSelector.deviceID = "159b"
        case 1:
            p.spec.numVfs = 8
            p.spec.nicSelector.pfNames = ["ens2f\(k % 2)#0-3"]
            p.spec.mtu = 9000
        default:
            p.spec.numVfs = 8
            p.spec.nicSelector.vendor = "15b3"
            if distinct {
                p.spec.nicSelector.rootDevices = stride(from: k % poolCount, to: nodeCount, by: poolCount).map {
                    pciAddress(node: $0, card: 3, port: k % 2)
                }
            } else {
                p.spec.nicSelector.rootDevices = [pciAddress(node: nil, card: 3, port: k % 2)]
            }
            p.spec.isRdma = true
        }
        policies.append(p)
    }
    return policies
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}

func format(_ ms: Double) -> String {
    let hundredths = Int((ms * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac) ms"
}

/// `part` as a percentage of `whole`, one decimal.
func percent(_ part: Double, of whole: Double) -> String {
    let tenths = Int((part / whole * 1000).rounded())
    return "\(tenths / 10).\(tenths % 10) %"
}

func pad(_ label: String) -> String {
    label + String(repeating: " ", count: max(0, 42 - label.count))
}

let clock = ContinuousClock()

/// Changes a policy back and forth and prints the median time of one change
/// and its ratio to the full render.
func incremental(
    _ original: SriovV1.SriovNetworkNodePolicy, label: String, state: inout RenderState, full: Double
) {
    var changed = original
    changed.spec.numVfs += 4
    changed.spec.mtu = 9000
    var times: [Double] = []
    var reRendered = 0
    var changedNodes = 0
    for run in 0..<(runs * 2) {
        let next = run % 2 == 0 ? changed : original
        var delta = RenderDelta()
        let start = clock.now
        delta = state.apply(.upsertPolicy(next))
        let d = clock.now - start
        times.append(milliseconds(d))
        reRendered = delta.reRenderedNodes
        changedNodes = delta.changedNodes.count
    }
    let t = median(times)
    print("\(pad(label))\(format(t))  (\(percent(t, of: full)) of the full render; re-rendered \(reRendered) nodes, \(changedNodes) changed)")
}

/// Full renders of one fleet, then one pool-scoped and one cluster-wide change.
func runFleet(_ title: String, distinct: Bool, alone: Bool) {
    let nodes = makeNodes(distinct: distinct)
    let policies = makePolicies(distinct: distinct)
    print("\(title):")

    var fullTimes: [Double] = []
    var state = RenderState()
    for _ in 0..<runs {
        let start = clock.now
        let rendered = RenderState(policies: policies, networks: [], nodes: nodes)
        fullTimes.append(milliseconds(clock.now - start))
        state = rendered
    }
    let full = median(fullTimes)
    let configured = state.outputs.values.reduce(0) { $0 + ($1.spec?.interfaces.count ?? 0) }
    print("\(pad("  full render:"))\(format(full))  (min \(format(fullTimes.min()!)), \(format(full * 1000 / Double(nodes.count)).dropLast(3)) µs per node, \(configured) PF specs, \(state.conflicts.count) conflicts)")

    if alone {
        // The same work without sharing outputs between nodes of the same
        // shape: every node rendered on its own through the public one-node
        // entry point (the reference the tests compare with).
        var uncachedTimes: [Double] = []
        let sorted = NodeSpecRenderer.sortedForApplication(policies)
        for _ in 0..<3 {
            let start = clock.now
            var pfSpecs = 0
            for node in nodes {
                pfSpecs += NodeRenderOutput.render(node: node, sortedPolicies: sorted, options: .defaults).spec?.interfaces.count ?? 0
            }
            uncachedTimes.append(milliseconds(clock.now - start))
            precondition(pfSpecs == configured)
        }
        let t = median(uncachedTimes)
        print("\(pad("  full render, every node rendered alone:"))\(format(t))  (median of 3, \(format(t * 1000 / Double(nodes.count)).dropLast(3)) µs per node)")
    }

    incremental(policies[10], label: "  incremental, one pool-scoped policy:", state: &state, full: full)
    incremental(policies[1], label: "  incremental, one cluster-wide policy:", state: &state, full: full)
}

/// The policy-heavy shapes, rendered in process: policies that select a node
/// but none of its PFs, and many policies on one PF (every pair overlaps).
func runPolicyShapes() {
    func xl710Node(_ name: String) -> RenderNode {
        let pfs = (0..<4).map { port -> SriovV1.InterfaceExt in
            var pf = SriovV1.InterfaceExt()
            pf.name = "ens1f\(port)"
            pf.pciAddress = "0000:18:00.\(port)"
            pf.vendor = "8086"
            pf.deviceID = "1583"
            pf.totalvfs = 64
            return pf
        }
        return RenderNode(name: name, labels: ["sriov": "true"], interfaces: pfs)
    }
    func policy(_ i: Int, pfNames: [String]) -> SriovV1.SriovNetworkNodePolicy {
        var p = SriovV1.SriovNetworkNodePolicy()
        p.metadata.name = "p-\(i)"
        p.spec.resourceName = "r\(i)"
        p.spec.nodeSelector = ["sriov": "true"]
        p.spec.numVfs = 8
        p.spec.priority = 10
        p.spec.nicSelector.pfNames = pfNames
        return p
    }
    let shapes: [(String, Int, Int, [String])] = [
        ("no-PF policies (pfNames nopeI), 1 node", 1_000, 1, ["nopeI"]),
        ("no-PF policies (pfNames nopeI), 10 nodes", 20_000, 10, ["nopeI"]),
        ("one PF, every policy ens1f0#0-0, 1 node", 1_000, 1, ["ens1f0#0-0"]),
        ("one PF, every policy ens1f0#0-0, 1 node", 10_000, 1, ["ens1f0#0-0"]),
    ]
    print("policy shapes (full render, median of 3):")
    for (title, count, nodeCount, pfNames) in shapes {
        let policies = (0..<count).map { policy($0, pfNames: pfNames) }
        let nodes = (0..<nodeCount).map { xl710Node("node-\($0)") }
        var times: [Double] = []
        var conflicts = 0
        for _ in 0..<3 {
            let clock = ContinuousClock()
            var state: RenderState?
            let d = clock.measure { state = RenderState(policies: policies, networks: [], nodes: nodes) }
            conflicts = state?.conflicts.count ?? 0
            times.append(milliseconds(d))
        }
        print("  \(title), N = \(count): \(format(median(times))), \(conflicts) conflicts reported")
    }
}

// `sriov-render-bench hostile [SRIOVCTL [FILTER]]` renders generated hostile
// inputs with a child `sriovctl render` each and prints a table of time,
// peak RSS and exit status; `sriov-render-bench shapes` times the
// policy-heavy shapes in process.
if CommandLine.arguments.dropFirst().first == "hostile" {
    let args = Array(CommandLine.arguments.dropFirst(2))
    HostileInputs.run(
        sriovctl: args.first ?? ".build/release/sriovctl", filter: args.count > 1 ? args[1] : nil,
        timeoutSeconds: 300)
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "shapes" {
    runPolicyShapes()
    exit(0)
}

print("sriov-render-bench: \(nodeCount) nodes × \(inventory().count) PFs × 100 policies, median of \(runs) runs")
// `sriov-render-bench shared` or `sriov-render-bench distinct` runs one fleet
// only; `sriov-render-bench alone` renders the shared fleet once, node by
// node, untimed (a workload for profilers such as callgrind).
let only = CommandLine.arguments.dropFirst().first
if only == "alone" {
    let sorted = NodeSpecRenderer.sortedForApplication(makePolicies(distinct: false))
    var pfSpecs = 0
    for node in makeNodes(distinct: false) {
        pfSpecs += NodeRenderOutput.render(node: node, sortedPolicies: sorted, options: .defaults).spec?.interfaces.count ?? 0
    }
    print("\(pfSpecs) PF specs")
}
if only == nil || only == "shared" {
    runFleet("shared hardware (nodes of a pool share one output)", distinct: false, alone: true)
}
if only == nil || only == "distinct" {
    runFleet("distinct hardware (every node its own PCI addresses and altNames)", distinct: true, alone: false)
}
