import Currents
import Foundation
import Kafka
import Logging
import MParticle
import MParticleSimulator
import Relay
import Testing

/// The real pieces together: an embedded Kafka cluster over TCP, the simulator over HTTP, and
/// helpers to seed records and observe the group's committed offsets from outside.
struct Harness {
    let cluster: MockCluster
    let simulator: SimulatorServer
    let topic = "braze.currents"
    let deadLetterTopic = "braze.currents.dlq"
    let logger: Logger

    static func start(brokers: Int = 3, partitions: Int = 6) async throws -> Harness {
        var logger = Logger(label: "e2e")
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        try cluster.createTopic("braze.currents", partitions: partitions, replicationFactor: min(3, brokers))
        try cluster.createTopic("braze.currents.dlq", partitions: 1, replicationFactor: min(3, brokers))
        let simulator = try await SimulatorServer.start(SimulatorConfiguration(feeds: SimulatorConfiguration.demoFeeds), logger: logger)
        return Harness(cluster: cluster, simulator: simulator, logger: logger)
    }

    func stop() async {
        await simulator.stop()
    }

    /// Produces the records; returns where each id landed.
    @discardableResult
    func seed(_ records: [SampleEvents.Record], partition: Int32? = nil, timestampMs: Int64? = nil,
              headers: [KafkaHeader] = []) async throws -> [String: KafkaDeliveryReport] {
        try await produce(records.map { ($0.id, $0.key, $0.value) }, partition: partition, timestampMs: timestampMs, headers: headers)
    }

    /// Produces raw values (ids are only for the returned map).
    @discardableResult
    func produce(_ values: [(id: String, key: [UInt8]?, value: [UInt8]?)], partition: Int32? = nil, timestampMs: Int64? = nil,
                 headers: [KafkaHeader] = []) async throws -> [String: KafkaDeliveryReport] {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: "seeder"), logger: logger)
        let reports = try await withThrowingTaskGroup(of: (String, KafkaDeliveryReport).self) { group in
            for item in values {
                group.addTask {
                    (item.id, try await producer.send(topic: topic, partition: partition, key: item.key, value: item.value,
                                                      headers: headers, timestampMs: timestampMs))
                }
            }
            var reports: [String: KafkaDeliveryReport] = [:]
            for try await (id, report) in group { reports[id] = report }
            return reports
        }
        await producer.close()
        return reports
    }

    /// Reads the dead-letter topic from the start with a fresh group, until `count` records or the timeout.
    func deadLetters(count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "dlq-reader-\(UUID().uuidString)", topics: [deadLetterTopic])
        configuration.properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.start()
        let deadline = ContinuousClock.now + timeout
        var messages: [KafkaMessage] = []
        let collector = Task {
            var collected: [KafkaMessage] = []
            for await event in consumer.events {
                if case .messages(let batch) = event { collected += batch }
                if collected.count >= count { break }
            }
            return collected
        }
        let timer = Task {
            try? await Task.sleep(until: deadline)
            await consumer.close()
        }
        messages = await collector.value
        timer.cancel()
        await consumer.close()
        return messages
    }

    func configuration(group: String) -> RelayConfiguration {
        var configuration = RelayConfiguration()
        configuration.name = "e2e"
        configuration.kafka.bootstrapServers = cluster.bootstrapServers
        configuration.kafka.groupID = group
        configuration.kafka.topics = [topic]
        configuration.kafka.properties = ["auto.commit.interval.ms": "200", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        configuration.mparticle.baseURL = simulator.baseURL
        configuration.mparticle.environment = .development
        for feed in SimulatorConfiguration.demoFeeds {
            configuration.mparticle.feeds[Feed(rawValue: feed.name)!] = FeedCredentials(key: feed.key, secret: feed.secret)
        }
        configuration.delivery.lingerMs = 50
        configuration.delivery.retryBaseMs = 20
        configuration.delivery.retryMaxMs = 200
        configuration.delivery.authProbeIntervalMs = 300
        configuration.deadLetter.topic = deadLetterTopic
        return configuration
    }

    /// Starts a relay; returns it and the task running it.
    func startRelay(group: String, clock: any RelayClock = SystemRelayClock(), deadLetters: (any DeadLetterSink)? = nil,
                    configure: (inout RelayConfiguration) -> Void = { _ in }) throws -> (RelayRunner, Task<Void, Error>) {
        var configuration = configuration(group: group)
        configure(&configuration)
        let runner = try RelayRunner(configuration: configuration, logger: logger, deadLetters: deadLetters, clock: clock)
        return (runner, Task { try await runner.run() })
    }

    func inspector(group: String) throws -> KafkaInspector {
        try KafkaInspector(bootstrapServers: cluster.bootstrapServers, groupID: group, logger: logger)
    }

    func endOffsets() throws -> [TopicPartition: Int64] {
        let inspector = try inspector(group: "observer")
        var ends: [TopicPartition: Int64] = [:]
        for partition in try inspector.partitions(of: topic) { ends[partition] = try inspector.watermarks(partition).high }
        return ends
    }

    func committed(group: String) throws -> [TopicPartition: Int64?] {
        let inspector = try inspector(group: group)
        return try inspector.committed(try inspector.partitions(of: topic))
    }

    /// Waits until the group's committed offsets equal `ends` on every partition.
    func waitUntilCommitted(_ group: String, reach ends: [TopicPartition: Int64], _ what: String = "committed offsets to reach the end",
                            timeout: Duration = .seconds(60)) async throws {
        try await waitUntil(what, timeout: timeout) {
            try committed(group: group).allSatisfy { $0.value == ends[$0.key] }
        }
    }

    /// Polls `condition` every 100 ms; records an issue and returns false on timeout.
    @discardableResult
    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while try !condition() {
            if ContinuousClock.now > deadline {
                Issue.record("timed out after \(timeout) waiting for \(what)")
                return false
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return true
    }

    static func expectedFeed(_ record: SampleEvents.Record) -> String {
        record.platform ?? "unbound"
    }
}

extension KafkaMessage {
    func headerText(_ key: String) -> String? { header(key)?.stringValue }
}
