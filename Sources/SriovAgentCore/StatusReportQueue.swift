import SriovGRPC
import SriovProto

/// The status reports an agent has not delivered yet, oldest first.
///
/// Reports go out in the order they were made, so the controller always
/// sees a generation's `InProgress` before its `Succeeded` or `Failed`, and
/// a node is never left `InProgress`: the final report is queued after it.
/// While the controller is away reports pile up; a queued report is dropped
/// only when a later one makes it redundant:
/// - a later report with the same status (a repeat: the later one carries
///   the fresher interfaces and generation);
/// - a later report about another generation (the newer config superseded
///   it; a generation lower than before means the controller's store was
///   replaced, and the latest report is still the truth), unless the queued
///   one is `Failed`: a failure is always delivered, only a later failure
///   replaces it.
///
/// So the queue holds at most one report per status, three in all, however
/// long the controller stays away.
struct StatusReportQueue: Sendable {
    /// A queued report with the identity the delivery loop removes it by.
    struct Entry: Sendable, Hashable {
        let id: Int
        let report: SriovV1.StatusReport
    }

    private(set) var entries: [Entry] = []
    private var nextID = 0

    /// The oldest undelivered report.
    var head: Entry? { entries.first }

    var isEmpty: Bool { entries.isEmpty }

    /// Appends `report` and drops the queued reports it makes redundant.
    mutating func enqueue(_ report: SriovV1.StatusReport) {
        entries.removeAll { Self.supersedes(report, $0.report) }
        entries.append(Entry(id: nextID, report: report))
        nextID += 1
    }

    /// Removes the entry `id` (delivered, or refused for good); nothing when
    /// a later report already replaced it.
    mutating func remove(id: Int) {
        entries.removeAll { $0.id == id }
    }

    /// Whether `later` makes the undelivered `earlier` redundant.
    static func supersedes(_ later: SriovV1.StatusReport, _ earlier: SriovV1.StatusReport) -> Bool {
        if later.syncStatus == earlier.syncStatus { return true }
        return later.generation != earlier.generation && earlier.syncStatus != SyncStatus.failed
    }

    /// Whether a report refused with `code` can never be accepted as it is,
    /// so retrying it would only hold back the reports behind it: a
    /// malformed report, a generation the controller does not know (its
    /// store was replaced), a certificate not allowed to act for the node.
    /// Everything else (the controller away, overloaded, restarting, a
    /// deadline) is retried.
    static func isPermanent(_ code: StatusCode) -> Bool {
        switch code {
        case .invalidArgument, .failedPrecondition, .permissionDenied, .unauthenticated, .notFound, .alreadyExists, .outOfRange:
            true
        default:
            false
        }
    }
}
