import Foundation
import Logging
import SriovAPI
import SriovGRPC
import SriovProto

/// `--sync-desired-state`: SriovNetworkNodePolicy and SriovNetwork CRs made
/// with `kubectl apply` are applied to the controller (with an operator
/// certificate), and the controller's verdict is written back to the CR: an
/// `Accepted` status condition, and an Event when it refused the object
/// (INVALID_ARGUMENT: reason `Invalid`; FAILED_PRECONDITION: `Conflict`).
///
/// Each kind is listed, then watched with bookmarks (again after 410 Gone
/// or a broken watch). An object whose `Accepted` condition already names
/// its current generation is not sent again, so the mirror's own status
/// writes do not loop. A CR deleted from the cluster is deleted at the
/// controller; objects created at the controller by other means are left
/// alone.
struct DesiredStateSync: Sendable {
    let mirror: ClusterMirror

    enum Kind: String, Sendable {
        case policy = "SriovNetworkNodePolicy"
        case network = "SriovNetwork"

        var collection: String { self == .policy ? KubePaths.allPolicies : KubePaths.allNetworks }
        var plural: String { self == .policy ? "sriovnetworknodepolicies" : "sriovnetworks" }
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await follow(.policy) }
            group.addTask { await follow(.network) }
        }
    }

    private var kube: KubeClient { mirror.kube }
    private var logger: Logger { mirror.logger }

    func follow(_ kind: Kind) async {
        var backoff = Backoff(mirror.configuration)
        while !Task.isCancelled {
            do {
                let list = try await kube.json("GET", kind.collection)
                for item in ClusterMirror.items(list) { await handle(kind, "ADDED", item) }
                backoff.reset()
                var resourceVersion = list["metadata"]?["resourceVersion"]?.stringValue ?? ""
                while !Task.isCancelled {
                    let stream = kube.watch(kind.collection, resourceVersion: resourceVersion,
                                            timeoutSeconds: mirror.configuration.watchTimeoutSeconds)
                    for try await event in stream {
                        if let rv = event.resourceVersion { resourceVersion = rv }
                        switch event.type {
                        case "ERROR":
                            throw KubeError(.httpStatus, "watch \(kind.collection): \(event.object["message"]?.stringValue ?? "error")", status: 410)
                        case "ADDED", "MODIFIED", "DELETED":
                            await handle(kind, event.type, event.object)
                        default:
                            continue
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("desired-state watch failed; listing again", metadata: ["kind": "\(kind.rawValue)", "error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Applies (or deletes) one CR at the controller and reports the verdict.
    func handle(_ kind: Kind, _ type: String, _ object: CRValue) async {
        guard let name = object["metadata"]?["name"]?.stringValue,
            let namespace = object["metadata"]?["namespace"]?.stringValue
        else { return }
        let generation: Int64 = {
            if case .int(let g)? = object["metadata"]?["generation"] { return g }
            return 0
        }()
        if type == "DELETED" {
            var request = SriovV1.DeleteRequest()
            request.namespace = namespace
            request.name = name
            do {
                if kind == .policy {
                    _ = try await mirror.controller.unary(SriovV1.Operator.deletePolicy, request, timeout: .seconds(30))
                } else {
                    _ = try await mirror.controller.unary(SriovV1.Operator.deleteNetwork, request, timeout: .seconds(30))
                }
            } catch let error as RPCError where error.code == .notFound {
            } catch {
                logger.warning("delete at the controller failed", metadata: ["object": "\(namespace)/\(name)", "error": "\(error)"])
            }
            return
        }
        if Self.acceptedGeneration(object) == generation { return }

        let verdict: (accepted: Bool, reason: String, message: String)
        do {
            let clean = Self.withoutServerFields(object)
            if kind == .policy {
                var request = SriovV1.ApplyPolicyRequest()
                request.policy = try CRCodec.decode(clean, path: "\(namespace)/\(name)")
                _ = try await mirror.controller.unary(SriovV1.Operator.applyPolicy, request, timeout: .seconds(30))
            } else {
                var request = SriovV1.ApplyNetworkRequest()
                request.network = try CRCodec.decode(clean, path: "\(namespace)/\(name)")
                _ = try await mirror.controller.unary(SriovV1.Operator.applyNetwork, request, timeout: .seconds(30))
            }
            verdict = (true, "Applied", "applied to the controller")
        } catch let error as RPCError {
            switch error.code {
            case .invalidArgument: verdict = (false, "Invalid", error.message)
            case .failedPrecondition: verdict = (false, "Conflict", error.message)
            default:
                // Unavailable and the like: the next listing tries again.
                logger.warning("apply at the controller failed", metadata: ["object": "\(namespace)/\(name)", "error": "\(error)"])
                return
            }
        } catch {
            verdict = (false, "Invalid", "\(error)")
        }
        do {
            try await writeCondition(kind, object, name: name, namespace: namespace, generation: generation, verdict)
            if !verdict.accepted {
                try await recordEvent(kind, object, name: name, namespace: namespace, reason: verdict.reason, message: verdict.message)
            }
        } catch {
            logger.warning("writing the verdict failed", metadata: ["object": "\(namespace)/\(name)", "error": "\(error)"])
        }
    }

    /// The generation named by the object's Accepted condition, if any.
    static func acceptedGeneration(_ object: CRValue) -> Int64? {
        guard case .array(let conditions)? = object["status"]?["conditions"] else { return nil }
        for c in conditions where c["type"] == .string("Accepted") {
            if case .int(let g)? = c["observedGeneration"] { return g }
        }
        return nil
    }

    /// The object without what the API server adds (the codec reads the
    /// user's fields).
    static func withoutServerFields(_ object: CRValue) -> CRValue {
        guard case .object(var pairs) = object else { return object }
        pairs.removeAll { $0.key == "status" }
        if let i = pairs.firstIndex(where: { $0.key == "metadata" }), case .object(let meta) = pairs[i].value {
            let keep: Set<String> = ["name", "namespace", "labels", "annotations"]
            pairs[i].value = .object(meta.filter { keep.contains($0.key) })
        }
        return .object(pairs)
    }

    func writeCondition(
        _ kind: Kind, _ object: CRValue, name: String, namespace: String, generation: Int64,
        _ verdict: (accepted: Bool, reason: String, message: String)
    ) async throws(KubeError) {
        let condition = CRValue.object([
            ("type", .string("Accepted")), ("status", .string(verdict.accepted ? "True" : "False")),
            ("reason", .string(verdict.reason)), ("message", .string(verdict.message)),
            ("lastTransitionTime", .string(Self.now())), ("observedGeneration", .int(generation)),
        ])
        let body = CRValue.object([
            ("apiVersion", .string(CRCodec.apiVersion)), ("kind", .string(kind.rawValue)),
            ("metadata", .object([("name", .string(name)), ("namespace", .string(namespace))])),
            ("status", .object([("conditions", .array([condition]))])),
        ])
        let path = "/apis/sriovnetwork.openshift.io/v1/namespaces/\(namespace)/\(kind.plural)/\(name)/status"
        _ = try await kube.json(
            "PATCH", path, query: [("fieldManager", mirror.configuration.fieldManager), ("force", "true")],
            contentType: "application/apply-patch+yaml", body: body)
    }

    func recordEvent(_ kind: Kind, _ object: CRValue, name: String, namespace: String, reason: String, message: String)
        async throws(KubeError)
    {
        let now = Self.now()
        var involved: [(key: String, value: CRValue)] = [
            ("apiVersion", .string(CRCodec.apiVersion)), ("kind", .string(kind.rawValue)),
            ("name", .string(name)), ("namespace", .string(namespace)),
        ]
        if let uid = object["metadata"]?["uid"] { involved.append(("uid", uid)) }
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let event = CRValue.object([
            ("apiVersion", .string("v1")), ("kind", .string("Event")),
            ("metadata", .object([("name", .string("\(name).\(suffix)")), ("namespace", .string(namespace))])),
            ("involvedObject", .object(involved)), ("reason", .string(reason)), ("message", .string(message)),
            ("type", .string("Warning")), ("source", .object([("component", .string("sriov-mirror"))])),
            ("firstTimestamp", .string(now)), ("lastTimestamp", .string(now)), ("count", .int(1)),
        ])
        _ = try await kube.json("POST", KubePaths.events(namespace: namespace), body: event)
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}
