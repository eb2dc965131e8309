import ArgumentParser
import Currents
import Foundation
import Kafka
import Logging
import MParticle
import MParticleSimulator
import Relay

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the relay end to end on an embedded Kafka cluster and the local mParticle simulator, then print a summary."
    )

    @Option(name: .long, help: "Events to seed.")
    var events: Int = 3000

    @Option(name: .long, help: "Partitions of the demo topic.")
    var partitions: Int = 6

    @Option(name: .long, help: "Brokers in the embedded cluster.")
    var brokers: Int = 3

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Int = 120

    /// Without `--log-level` or `CURRENTS_RELAY_LOG_LEVEL`, warnings and above: the demo's own
    /// progress lines are the story, and every component's info logs would bury them.
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...200_000).contains(events) else { throw ValidationError("--events must be in 1...200000 (the embedded broker keeps ~5 MB per partition)") }
        guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be in 1...64") }
        guard (1...5).contains(brokers) else { throw ValidationError("--brokers must be in 1...5") }
    }

    func run() async throws {
        let logger = logging.bootstrap(defaultLevel: .warning)
        let started = ContinuousClock.now
        let topic = "braze.currents"

        printNow("1/4 starting an embedded Kafka cluster (\(brokers) brokers, topic \(topic) with \(partitions) partitions)")
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(3, brokers))
        printNow("    bootstrap: \(cluster.bootstrapServers)")

        printNow("2/4 starting the mParticle simulator")
        let simulator = try await SimulatorServer.start(SimulatorConfiguration(feeds: SimulatorConfiguration.demoFeeds), logger: logger)
        printNow("    listening on \(simulator.baseURL)")

        printNow("3/4 seeding \(events) Braze Currents events (all \(SampleEvents.allTypes.count) types, every platform; some users without external_user_id)")
        let records = SampleEvents().records(count: events)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: "demo-seeder"), logger: logger)
        try await Seeder.produce(records.map { ($0.key, $0.value) }, topic: topic, producer: producer)
        await producer.close()

        var configuration = RelayConfiguration()
        configuration.name = "currents-relay-demo"
        configuration.kafka.bootstrapServers = cluster.bootstrapServers
        configuration.kafka.groupID = "currents-relay-demo"
        configuration.kafka.topics = [topic]
        configuration.kafka.properties = ["auto.commit.interval.ms": "200", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        configuration.mparticle.baseURL = simulator.baseURL
        configuration.mparticle.environment = .development
        for feed in SimulatorConfiguration.demoFeeds {
            configuration.mparticle.feeds[Feed(rawValue: feed.name)!] = FeedCredentials(key: feed.key, secret: feed.secret)
        }
        configuration.mparticle.apps = ["app-ios": .ios, "app-android": .android, "app-web": .web]
        configuration.delivery.lingerMs = 100

        printNow("4/4 running the relay until every partition's committed offset reaches its end offset")
        let runner = try RelayRunner(configuration: configuration, logger: logger)
        let relayTask = Task { try await runner.run() }
        let inspector = try KafkaInspector(bootstrapServers: cluster.bootstrapServers, groupID: configuration.kafka.groupID, logger: logger)
        let topicPartitions = try inspector.partitions(of: topic)
        var ends: [TopicPartition: Int64] = [:]
        for partition in topicPartitions { ends[partition] = try inspector.watermarks(partition).high }
        let deadline = ContinuousClock.now + .seconds(timeout)
        var committed: [TopicPartition: Int64?] = [:]
        var lastPrinted = ContinuousClock.now
        while true {
            committed = (try? inspector.committed(topicPartitions)) ?? [:]
            let done = topicPartitions.allSatisfy { (committed[$0] ?? nil) == ends[$0] }
            if done { break }
            if ContinuousClock.now > deadline {
                await runner.shutdown(timeout: .seconds(5))
                _ = try? await relayTask.value
                throw DemoFailure("the relay did not commit every offset within \(timeout) s")
            }
            if ContinuousClock.now - lastPrinted > .seconds(2) {
                let stats = runner.stats.snapshot
                printNow("    ... \(stats.recordsConsumed)/\(events) records consumed, \(stats.totalAccepted) events accepted")
                lastPrinted = ContinuousClock.now
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        await runner.shutdown(timeout: .seconds(10))
        try await relayTask.value
        await simulator.stop()

        let elapsed = ContinuousClock.now - started
        let stats = runner.stats.snapshot
        let counts = simulator.state.counts
        let typeOf = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0.eventType) })
        var acceptedByType: [String: Int] = [:]
        for event in simulator.state.acceptedEvents { acceptedByType[typeOf[event.sourceMessageID ?? ""] ?? "?", default: 0] += 1 }
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
        printNow("  events seeded:          \(events)")
        for feed in Feed.allCases {
            let count = counts[feed.rawValue]
            printNow("  \(feed.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) accepted:       \(count?.events ?? 0) events in \(count?.batches ?? 0) batches, \(count?.requests ?? 0) requests")
        }
        let skipped = stats.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        printNow("  skipped:                \(stats.totalSkipped)\(skipped.isEmpty ? "" : " (\(skipped))")")
        printNow("  refused by mParticle:   \(simulator.state.rejectedRequests.values.reduce(0, +)) requests")
        printNow("  mParticle requests:     \(stats.totalRequests) (responses: \(stats.responses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")))")
        printNow("  committed offsets:      " + topicPartitions.map { "p\($0.partition)=\((committed[$0] ?? nil).map(String.init) ?? "-")/\(ends[$0]!)" }.joined(separator: " "))
        printNow("  time:                   \(String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s")
        let expected = records.filter { $0.externalUserID != nil }.count
        guard stats.totalAccepted == expected, simulator.state.totalAcceptedEvents == expected, simulator.state.rejectedRequests.isEmpty else {
            throw DemoFailure("expected \(expected) events accepted, the relay reports \(stats.totalAccepted) and the simulator \(simulator.state.totalAcceptedEvents)")
        }
        printNow("  result:                 every event with an external_user_id was accepted; every offset committed")
    }
}

struct DemoFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Produces records concurrently, a window at a time, and waits for every delivery report.
enum Seeder {
    static func produce(_ records: [([UInt8], [UInt8])], topic: String, producer: KafkaProducer, window: Int = 2000) async throws {
        var index = 0
        while index < records.count {
            let slice = records[index..<min(index + window, records.count)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (key, value) in slice {
                    group.addTask { try await producer.send(topic: topic, key: key, value: value) }
                }
                try await group.waitForAll()
            }
            index += window
        }
    }
}
