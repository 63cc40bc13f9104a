import Foundation
import SriovProto

/// Columns aligned as kubectl prints them: upper-case headers, each column
/// as wide as its widest cell, three spaces between columns, no trailing
/// spaces.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: [String]) { self.headers = headers }

    mutating func append(_ row: [String]) { rows.append(row) }

    /// The table's text, header line first; with `header: false` only rows
    /// (a watch prints its header once).
    func render(header: Bool = true, widths given: [Int]? = nil) -> String {
        let widths = given ?? self.widths
        var out = ""
        for row in (header ? [headers] : []) + rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                if i == row.count - 1 {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[i] - cell.count + 3)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// The width of each column, headers included.
    var widths: [Int] {
        headers.indices.map { i in ([headers] + rows).map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
    }
}

/// Ages and times as kubectl shows them.
enum Age {
    /// kubectl's human duration: `45s`, `3m20s`, `15m`, `5h10m`, `2d3h`, `400d`.
    static func human(seconds s: Int64) -> String {
        if s < -1 { return "<invalid>" }
        if s < 0 { return "0s" }
        if s < 120 { return "\(s)s" }
        let minutes = s / 60
        if minutes < 10 { return s % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(s % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 { return hours % 24 == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(hours % 24)h" }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = hours / 24 % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }

    /// The age of a timestamp now; `<unknown>` when it is unset.
    static func of(_ t: GoogleProtobuf.Timestamp, now: Date = Date()) -> String {
        if t.seconds == 0 && t.nanos == 0 { return "<unknown>" }
        return human(seconds: Int64(now.timeIntervalSince1970) - t.seconds)
    }

    /// RFC 3339 in UTC, e.g. `2026-11-30T01:56:00Z`.
    static func timestamp(_ t: GoogleProtobuf.Timestamp) -> String {
        if t.seconds == 0 && t.nanos == 0 { return "<never>" }
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(t.seconds)))
    }

    /// `2026-11-30T01:56:00Z (3m ago)`.
    static func described(_ t: GoogleProtobuf.Timestamp, now: Date = Date()) -> String {
        if t.seconds == 0 && t.nanos == 0 { return "<never>" }
        return "\(timestamp(t)) (\(of(t, now: now)) ago)"
    }
}
