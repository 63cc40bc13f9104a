import SriovControllerCore
import SriovGRPC
import SriovProto
import Testing

/// Pure parts of the controller: label selectors, the config fan-out's
/// latest-only slots, environment settings.
@Suite(.timeLimit(.minutes(1))) struct ControllerUnitTests {
    struct SelectorCase: Sendable, CustomTestStringConvertible {
        var selector: String
        var labels: [String: String]
        var matches: Bool
        var testDescription: String { "\(selector) on \(labels)" }
    }

    static let selectorCases: [SelectorCase] = [
        .init(selector: "", labels: [:], matches: true),
        .init(selector: "a=b", labels: ["a": "b"], matches: true),
        .init(selector: "a==b", labels: ["a": "b"], matches: true),
        .init(selector: "a=b", labels: ["a": "c"], matches: false),
        .init(selector: "a!=b", labels: ["a": "c"], matches: true),
        .init(selector: "a!=b", labels: [:], matches: true),
        .init(selector: "a!=b", labels: ["a": "b"], matches: false),
        .init(selector: "a", labels: ["a": ""], matches: true),
        .init(selector: "!a", labels: ["a": ""], matches: false),
        .init(selector: "!a", labels: ["b": "x"], matches: true),
        .init(selector: "a=b, feature.node.kubernetes.io/network-sriov.capable=true", labels: ["a": "b", "feature.node.kubernetes.io/network-sriov.capable": "true"], matches: true),
        .init(selector: "a=b,c=d", labels: ["a": "b"], matches: false),
        .init(selector: "a=", labels: ["a": ""], matches: true),
    ]

    @Test(arguments: selectorCases)
    func labelSelectorsMatchAsKubernetesDoes(_ c: SelectorCase) throws {
        #expect(try LabelSelector(parsing: c.selector).matches(c.labels) == c.matches)
    }

    @Test(arguments: ["a=b,,c=d", "=b", "a b=c", "a=b c", "a=" + String(repeating: "x", count: 64), String(repeating: "k", count: 5000)])
    func badSelectorsAreInvalidArgument(_ text: String) {
        #expect { try LabelSelector(parsing: text) } throws: { ($0 as? RPCError)?.code == .invalidArgument }
    }

    func offer(_ node: String, _ generation: Int64) -> ConfigFanout.Offer {
        var c = SriovV1.NodeConfig()
        c.nodeName = node
        c.generation = generation
        return ConfigFanout.Offer(config: c, changedAt: ContinuousClock().now)
    }

    @Test func aSlowStreamHoldsOnlyTheNewestGeneration() async {
        let fanout = ConfigFanout()
        let slow = fanout.subscribe(node: "n1", initial: offer("n1", 1))
        let other = fanout.subscribe(node: "n2", initial: offer("n2", 1))
        // n2 reads each generation as it comes; n1 reads nothing meanwhile.
        #expect(await other.next()?.config.generation == 1)
        for g in Int64(2)...4 {
            fanout.push(offer("n1", g))
            fanout.push(offer("n2", g))
            #expect(await other.next()?.config.generation == g)
        }
        // The slow stream holds one message: the newest (it replaced even the
        // unsent first one, which is older).
        #expect(await slow.next()?.config.generation == 4)
        // An older generation arriving late is dropped.
        fanout.push(offer("n1", 3))
        fanout.push(offer("n1", 5))
        #expect(await slow.next()?.config.generation == 5)
        #expect(fanout.connectedNodes == 2)
    }

    @Test func aNewStreamSupersedesTheOlderOne() async {
        let fanout = ConfigFanout()
        let first = fanout.subscribe(node: "n1", initial: offer("n1", 1))
        #expect(await first.next()?.config.generation == 1)
        let second = fanout.subscribe(node: "n1", initial: offer("n1", 1))
        #expect(await first.next() == nil)
        #expect(first.endReason == .superseded)
        #expect(await second.next()?.config.generation == 1)
        // Removing the superseded one leaves the live one registered.
        fanout.unsubscribe(first)
        #expect(fanout.connectedNodes == 1)
        fanout.closeAll()
        #expect(await second.next() == nil)
        #expect(second.endReason == .shutdown)
    }

    @Test func environmentVariablesBecomeOptionsUnlessGiven() throws {
        let env = ["SRIOV_CONTROLLER_DATA_DIR": "/d", "SRIOV_CONTROLLER_LISTEN": "1.2.3.4:5", "SRIOV_CONTROLLER_INSECURE_H2C": "true", "OTHER": "x"]
        let merged = try EnvironmentArguments.merge(
            ["--listen", "127.0.0.1:1"], prefix: "SRIOV_CONTROLLER_", options: ["data-dir", "listen"], flags: ["insecure-h2c"], environment: env)
        #expect(merged == ["--listen", "127.0.0.1:1", "--data-dir", "/d", "--insecure-h2c"])
        #expect(throws: EnvironmentArguments.UnknownVariable.self) {
            try EnvironmentArguments.merge([], prefix: "SRIOV_CONTROLLER_", options: [], flags: [], environment: ["SRIOV_CONTROLLER_NOPE": "1"])
        }
        #expect(throws: EnvironmentArguments.UnknownVariable.self) {
            try EnvironmentArguments.merge([], prefix: "P_", options: [], flags: ["f"], environment: ["P_F": "maybe"])
        }
    }
}
