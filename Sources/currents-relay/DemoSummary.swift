import Currents
import Foundation
import Kafka
import MParticle
import MParticleSimulator
import Relay

/// What a demo run leaves for its summary, taken once the relay has stopped (the summary is
/// printed after the relay, its Kafka clients and the brokers have all stopped).
struct DemoRun {
    var stats: RelayStats.Snapshot
    var simulator: SimulatorState
    /// The relay's inputs, in position order.
    var feeds: [Feed]
    var partitions: [TopicPartition]
    var committed: [TopicPartition: Int64?]
    var ends: [TopicPartition: Int64]
}

/// The drain's progress line, at most every 2 s: records consumed, events accepted, and the feeds
/// that waited on their rate limit since the last line (or, before the first record, that the
/// relay is still joining its consumer group). Under the default limit (270 batches/s
/// per feed, mParticle's own) the demo spends most of its drain there, and a line that only
/// counted looked stuck.
struct DemoProgress {
    let events: Int
    let feeds: [Feed]
    let ratePerFeed: Int
    private var last: RelayStats.Snapshot
    private var printedAt = ContinuousClock.now

    init(events: Int, feeds: [Feed], ratePerFeed: Int, stats: RelayStats.Snapshot) {
        self.events = events
        self.feeds = feeds
        self.ratePerFeed = ratePerFeed
        last = stats
    }

    /// The line to print now, or nil when the last one is less than 2 s old.
    mutating func line(_ stats: RelayStats.Snapshot, now: ContinuousClock.Instant = .now) -> String? {
        guard now - printedAt > .seconds(2) else { return nil }
        let limited = feeds.filter { (stats.rateLimitWaits[$0] ?? 0) > (last.rateLimitWaits[$0] ?? 0) }
        last = stats
        printedAt = now
        var line = "    ... \(stats.recordsConsumed)/\(events) records consumed, \(stats.totalAccepted) events accepted"
        if stats.recordsConsumed == 0 {
            // The first seconds go to the group's first rebalance, which reads as a stall.
            line += "; joining the consumer group"
        }
        if !limited.isEmpty {
            line += "; rate-limited: \(limited.map(\.rawValue).joined(separator: ", ")) "
                + "(\(ratePerFeed) batches/s per feed, delivery.max_batches_per_second_per_feed)"
        }
        return line
    }
}

/// The demo's closing table and summary lines; throws when not every event was accepted.
struct DemoSummary {
    var run: DemoRun
    var records: [SampleEvents.Record]
    var elapsed: Duration

    func print() throws {
        let stats = run.stats
        let simulator = run.simulator
        let counts = simulator.counts
        let typeOf = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0.eventType) })
        var acceptedByType: [String: Int] = [:]
        for event in simulator.acceptedEvents { acceptedByType[typeOf[event.sourceMessageID ?? ""] ?? "?", default: 0] += 1 }
        var seededByType: [String: Int] = [:]
        for record in records { seededByType[record.eventType, default: 0] += 1 }
        printNow("")
        printNow("Events per Currents type (seeded → accepted by mParticle; the rest had no external_user_id)")
        for type in seededByType.keys.sorted() {
            let name = type.padding(toLength: 52, withPad: " ", startingAt: 0)
            printNow("  \(name) \(String(format: "%5d", seededByType[type]!)) → \(String(format: "%5d", acceptedByType[type] ?? 0))")
        }
        printNow("")
        printNow("Summary")
        printNow("  events seeded:          \(records.count)")
        for feed in run.feeds {
            let count = counts[feed.rawValue]
            printNow("  \("\(feed.rawValue) accepted:".padding(toLength: 24, withPad: " ", startingAt: 0))\(count?.events ?? 0) events in \(count?.batches ?? 0) batches, \(count?.requests ?? 0) requests")
        }
        // The second iOS app's events reach its own input, and only they do.
        let feedOf = Dictionary(simulator.acceptedEvents.map { ($0.sourceMessageID ?? "", $0.feed) }, uniquingKeysWith: { first, _ in first })
        let tabletIDs = Set(records.filter { $0.appID == DemoInputs.tabletAppID && $0.externalUserID != nil }.map(\.id))
        let misrouted = feedOf.filter { tabletIDs.contains($0.key) != ($0.value == DemoInputs.tabletInput) }.count
        printNow("  two iOS apps:           \(tabletIDs.count) events of \(DemoInputs.tabletAppID) on input \(DemoInputs.tabletInput) (mparticle.apps), the other iOS app's on ios")
        let skipped = stats.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        printNow("  skipped:                \(stats.totalSkipped)\(skipped.isEmpty ? "" : " (\(skipped))")")
        printNow("  refused by mParticle:   \(simulator.rejectedRequests.values.reduce(0, +)) requests")
        printNow("  mParticle requests:     \(stats.totalRequests) (responses: \(stats.responses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")))")
        printNow("  committed offsets:      " + run.partitions.map { "p\($0.partition)=\((run.committed[$0] ?? nil).map(String.init) ?? "-")/\(run.ends[$0]!)" }.joined(separator: " "))
        printNow("  time:                   \(String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s")
        let expected = records.filter { $0.externalUserID != nil }.count
        guard stats.totalAccepted == expected, simulator.totalAcceptedEvents == expected, simulator.rejectedRequests.isEmpty else {
            throw DemoFailure("expected \(expected) events accepted, the relay reports \(stats.totalAccepted) and the simulator \(simulator.totalAcceptedEvents)")
        }
        guard misrouted == 0 else {
            throw DemoFailure("\(misrouted) events reached the wrong input (\(DemoInputs.tabletAppID)'s events belong on \(DemoInputs.tabletInput), no others)")
        }
        printNow("  result:                 every event with an external_user_id was accepted; every offset committed")
    }
}

/// The demo's mParticle inputs: the four of Braze's export and a second iOS app's own input
/// (`ios-tablet`, app-level credentials), each with the simulator's demo credentials.
enum DemoInputs {
    static let tabletAppID = "app-ios-tablet"
    static let tabletInput = SimulatorConfiguration.demoTabletFeed.name

    static func configure(_ settings: inout RelayConfiguration.MParticleSettings) {
        settings.catalog = FeedCatalog(uniqueNamed: [(tabletInput, .ios)])
        for simulatedFeed in SimulatorConfiguration.demoInputs {
            guard let feed = settings.catalog.feed(named: simulatedFeed.name) else { continue }
            settings.feeds[feed] = FeedCredentials(key: simulatedFeed.key, secret: simulatedFeed.secret)
        }
        settings.apps = ["app-ios": .ios, "app-android": .android, "app-web": .web]
        settings.apps[tabletAppID] = settings.catalog.feed(named: tabletInput)
    }
}
