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
    let logger: Logger

    static func start(brokers: Int = 3, partitions: Int = 6) async throws -> Harness {
        var logger = Logger(label: "e2e")
        logger.logLevel = .error
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        try cluster.createTopic("braze.currents", partitions: partitions, replicationFactor: min(3, brokers))
        let simulator = try await SimulatorServer.start(SimulatorConfiguration(feeds: SimulatorConfiguration.demoFeeds), logger: logger)
        return Harness(cluster: cluster, simulator: simulator, logger: logger)
    }

    func stop() async {
        await simulator.stop()
    }

    func seed(_ records: [SampleEvents.Record]) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: "seeder"), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for record in records {
                group.addTask { try await producer.send(topic: topic, key: record.key, value: record.value) }
            }
            try await group.waitForAll()
        }
        await producer.close()
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
        return configuration
    }

    /// Starts a relay; returns it and the task running it.
    func startRelay(group: String) throws -> (RelayRunner, Task<Void, Error>) {
        let runner = try RelayRunner(configuration: configuration(group: group), logger: logger)
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
