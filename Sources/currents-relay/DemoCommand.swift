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
        // Half of the iOS users use a tablet app with an input of its own (app-level
        // credentials): the demo shows two iOS apps reaching two mParticle inputs.
        var sample = SampleEvents()
        sample.tabletAppID = DemoInputs.tabletAppID
        let records = sample.records(count: events)

        printNow("1/4 starting an embedded Kafka cluster (\(brokers) brokers, topic \(topic) with \(partitions) partitions)")
        // Everything stops before the summary, in order: the relay, then every Kafka client, then
        // the brokers (`withCluster` waits for the clients). Brokers stopped first left the
        // relay's clients reconnecting, and librdkafka logged each refusal at error level after a
        // successful summary.
        let run = try await MockCluster.withCluster(brokers: brokers, logger: logger) { cluster in
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(3, brokers))
            printNow("    bootstrap: \(cluster.bootstrapServers)")

            printNow("2/4 starting the mParticle simulator")
            let simulator = try await SimulatorServer.start(SimulatorConfiguration(feeds: SimulatorConfiguration.demoInputs), logger: logger)
            printNow("    listening on \(simulator.baseURL)")
            do {
                let run = try await seedAndRelay(records, topic: topic, cluster: cluster, simulator: simulator, logger: logger)
                await simulator.stop()
                return run
            } catch {
                await simulator.stop()
                throw error
            }
        }
        try DemoSummary(run: run, records: records, elapsed: ContinuousClock.now - started).print()
    }

    /// Steps 3 and 4: seeds the topic and runs the relay until every offset is committed. Every
    /// Kafka client made here is closed, and released when this returns.
    private func seedAndRelay(_ records: [SampleEvents.Record], topic: String, cluster: MockCluster, simulator: SimulatorServer,
                              logger: Logger) async throws -> DemoRun {
        printNow("3/4 seeding \(events) Braze Currents events (all \(SampleEvents.allTypes.count) types, every platform; some users without external_user_id)")
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: "demo-seeder"), logger: logger)
        do {
            try await Seeder.produce(records.map { ($0.key, $0.value) }, topic: topic, producer: producer)
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()

        var configuration = RelayConfiguration()
        configuration.name = "currents-relay-demo"
        configuration.kafka.bootstrapServers = cluster.bootstrapServers
        configuration.kafka.groupID = "currents-relay-demo"
        configuration.kafka.topics = [topic]
        configuration.kafka.properties = ["auto.commit.interval.ms": "200", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        configuration.mparticle.baseURL = simulator.baseURL
        configuration.mparticle.environment = .development
        DemoInputs.configure(&configuration.mparticle)
        configuration.delivery.lingerMs = 100

        printNow("4/4 running the relay until every partition's committed offset reaches its end offset")
        let runner = try RelayRunner(configuration: configuration, logger: logger)
        let relayTask = Task { try await runner.run() }
        let inspector = try KafkaInspector(bootstrapServers: cluster.bootstrapServers, groupID: configuration.kafka.groupID, logger: logger)
        let topicPartitions: [TopicPartition]
        var ends: [TopicPartition: Int64] = [:]
        do {
            topicPartitions = try inspector.partitions(of: topic)
            for partition in topicPartitions { ends[partition] = try inspector.watermarks(partition).high }
        } catch {
            await runner.shutdown(timeout: .seconds(5))
            _ = try? await relayTask.value
            throw error
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        var committed: [TopicPartition: Int64?] = [:]
        var progress = DemoProgress(events: events, feeds: configuration.mparticle.catalog.feeds,
                                    ratePerFeed: configuration.delivery.maxBatchesPerSecondPerFeed, stats: runner.stats.snapshot)
        while true {
            committed = (try? inspector.committed(topicPartitions)) ?? [:]
            let done = topicPartitions.allSatisfy { (committed[$0] ?? nil) == ends[$0] }
            if done { break }
            if ContinuousClock.now > deadline {
                await runner.shutdown(timeout: .seconds(5))
                _ = try? await relayTask.value
                throw DemoFailure("the relay did not commit every offset within \(timeout) s")
            }
            if let line = progress.line(runner.stats.snapshot) { printNow(line) }
            try await Task.sleep(for: .milliseconds(100))
        }
        await runner.shutdown(timeout: .seconds(10))
        try await relayTask.value
        return DemoRun(stats: runner.stats.snapshot, simulator: simulator.state, feeds: configuration.mparticle.catalog.feeds,
                       partitions: topicPartitions, committed: committed, ends: ends)
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
