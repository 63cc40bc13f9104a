/// The part of a Kubernetes `v1 Node` the renderer needs: its name and
/// labels. Read from `kubectl get nodes -o yaml` output; every other field
/// of a Node is ignored.
public struct KubeNode: Hashable, Sendable {
    public var name: String
    public var labels: [String: String]

    public init(name: String, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }
}
