import CNGHTTP2
import CSriovShims

/// How long a connection may live: the maximum connection age, the client
/// certificate's notAfter, and re-verification when the server's trust
/// material changes.
extension ServerConnection {
    /// GOAWAY at the maximum age (jittered) or a grace period before the
    /// client certificate's notAfter, whichever is first; close a grace
    /// period later, and never after notAfter. A certificate that expires
    /// within the grace period gets no GOAWAY (a new connection would carry
    /// the same certificate), only the close at notAfter.
    func scheduleMaximumAge() {
        let limits = server.configuration.limits
        let grace = nanos(limits.maxConnectionAgeGrace)
        var drainIn: UInt64? = limits.maxConnectionAge.map { UInt64(Double(nanos($0)) * Double.random(in: 0.9...1.1)) }
        var expiresIn: UInt64?
        if let left = certificateSecondsLeft {
            let leftNanos = left <= 0 ? 0 : UInt64(left) &* 1_000_000_000
            expiresIn = leftNanos
            drainIn = leftNanos > grace ? min(drainIn ?? .max, leftNanos - grace) : nil
        }
        let closeIn = min(drainIn.map { $0 &+ grace } ?? .max, expiresIn ?? .max)
        guard closeIn != .max else { return }
        let expiring = expiresIn.map { closeIn >= $0 } ?? false
        if let drainIn {
            ageTimers.append(loop.schedule(after: drainIn) { [self] in
                guard state == .active, !draining else { return }
                server.connectionAgedOut(self, certificateExpiring: expiring)
                drainForAge()
            })
        }
        ageTimers.append(loop.schedule(after: closeIn) { [self] in
            guard state != .closed else { return }
            forceClose(reason: expiring ? "the client certificate expired" : "maximum connection age reached and the grace period is over")
        })
    }

    /// Two-step GOAWAY as gRPC servers do it: first one that refuses no
    /// stream (last stream id 2^31-1), so that requests already on the way
    /// are still served; then, a second later, the real one.
    private func drainForAge() {
        guard state == .active, let session else { return }
        draining = true
        nghttp2_submit_shutdown_notice(session)
        scheduleFlush()
        ageTimers.append(loop.schedule(after: 1_000_000_000) { [self] in goAway() })
    }

    /// Checks the client certificate against `context` (after a reload that
    /// changed the CA bundle or the CRLs); closes the connection when it no
    /// longer verifies. Returns whether it still does.
    @discardableResult
    func reverify(against context: TLSContext) -> Bool {
        guard let ssl, context.configuration.clientAuth == .required else { return true }
        if state == .handshaking {
            reverifyAfterHandshake = true
            return true
        }
        guard state == .active else { return true }
        var buf = [CChar](repeating: 0, count: 256)
        let r = CSriovShims_SSL_reverify_peer(ssl, context.ctx, &buf, buf.count)
        if r == 1 { return true }
        let reason = r < 0 ? "no client certificate" : String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        server.connectionFailedReverification(self, reason: reason)
        forceClose(reason: "the client certificate no longer verifies: \(reason)")
        return false
    }
}
