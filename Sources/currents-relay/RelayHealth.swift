import ArgumentParser
import Foundation
import Logging
import Relay

/// What `/health/ready` and the periodic status line say about a running relay.
enum RelayHealth {
    static func notReadyReasons(runner: RelayRunner, maxBlockedMs: Int64) async -> [String] {
        var reasons: [String] = []
        let assigned = await runner.pipeline.assignedPartitions.count
        if assigned == 0 { reasons.append("no partitions assigned (joining the group, or more members than partitions)") }
        let stats = runner.stats.snapshot
        if stats.brokerReachable == false { reasons.append("no Kafka broker connection is up") }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (feed, since) in stats.blockedSinceMs.sorted(by: { $0.key < $1.key }) where now - since >= maxBlockedMs {
            reasons.append("feed \(feed) blocked for \((now - since) / 1000) s: mParticle refuses its credentials (401/403)")
        }
        return reasons
    }

    /// Logs one line every `every`: event rate since the last line, lag, in flight, paused and
    /// blocked feeds.
    static func logStatus(runner: RelayRunner, every: Duration, logger: Logger) async {
        var last = runner.stats.snapshot
        var lastAt = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { return }
            let now = ContinuousClock.now
            let stats = runner.stats.snapshot
            let seconds = max(0.001, Double((now - lastAt).components.seconds) + Double((now - lastAt).components.attoseconds) / 1e18)
            let sent = stats.totalAccepted - last.totalAccepted
            let rate = Double(sent) / seconds
            let batches = stats.totalBatchesAccepted - last.totalBatchesAccepted
            let assigned = await runner.pipeline.assignedPartitions.count
            logger.info("status", metadata: [
                "sent_per_s": "\(Int(rate))", "sent": "\(stats.totalAccepted)", "skipped": "\(stats.totalSkipped)",
                "batches_per_event": "\(sent > 0 ? String(format: "%.3f", Double(batches) / Double(sent)) : "-")",
                "parked": "\(stats.totalParked)", "lag": "\(stats.totalLag)", "in_flight": "\(stats.inFlightRecords)",
                "paused_partitions": "\(stats.pausedPartitions)", "assigned_partitions": "\(assigned)",
                "blocked_feeds": "\(stats.blockedFeeds.isEmpty ? "none" : stats.blockedFeeds.map(\.rawValue).sorted().joined(separator: ","))",
            ])
            last = stats
            lastAt = now
        }
    }
}
