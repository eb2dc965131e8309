import Currents
import Foundation
import Kafka
import Logging
import MParticle
import MParticleSimulator
import Relay
import NIOConcurrencyHelpers
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
        let deadline = ContinuousClock.now + scaled(timeout)
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
        let deadline = ContinuousClock.now + scaled(timeout)
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

/// A relay configuration file for the spawned executable, pointed at the harness.
/// The spawned relays' HTTP timeout: the default 30 s, stretched under a sanitizer. A sanitized
/// simulator sharing two cores with a dozen tests can answer a request after the relay gave up on
/// it; the relay then sends it again (at-least-once, as designed) and exact counts no longer match.
let requestTimeoutMs = Int(min(600_000, 30_000 * testSlowdown))

func relayConfigFile(_ harness: Harness, group: String, dedup: String = "grouped", iosSecret: String = "demo-ios-secret",
                     secrets: [String: String] = [:], deadLetterExtra: String = "", path: String? = nil,
                instanceID: String? = nil, extraProperties: String = "", extraDelivery: String = "", httpPort: Int = 0, extra: String = "") throws -> String {
    let feeds = SimulatorConfiguration.demoFeeds.map {
        "    \($0.name): { key: \"\($0.key)\", secret: \"\(secrets[$0.name] ?? ($0.name == "ios" ? iosSecret : $0.secret))\" }"
    }.joined(separator: "\n")
    let yaml = """
    name: "crash-test"
    kafka:
      bootstrap_servers: "\(harness.cluster.bootstrapServers)"
      group_id: "\(group)"
      topics: ["\(harness.topic)"]
      drain_timeout_ms: 2000\(instanceID.map { "\n  group_instance_id: \"\($0)\"" } ?? "")
      properties:
        session.timeout.ms: "4000"
        heartbeat.interval.ms: "300"
        auto.commit.interval.ms: "1000"\(extraProperties)
    mparticle:
      base_url: "\(harness.simulator.baseURL)"
      environment: development
      feeds:
    \(feeds)
    delivery:
      linger_ms: 50
      dedup: \(dedup)
      max_batches_per_second_per_feed: 5000
      auth_probe_interval_ms: 300
      request_timeout_ms: \(requestTimeoutMs)\(extraDelivery)
    dead_letter:
      topic: "\(harness.deadLetterTopic)"\(deadLetterExtra)
    http:
      port: \(httpPort)\(extra)
    """
    let path = path ?? ScratchDirectory.path("relay", "yaml")
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func spawnRelay(config: String, log: String? = nil, logLevel: String = "warning", arguments: [String] = []) throws -> Process {
    let executable = try #require(CommandLineTests.executable, "build the executable first (swift build)")
    let process = Process()
    process.executableURL = executable
    process.arguments = ["run", "--config", config, "--log-level", logLevel] + arguments
    process.standardOutput = FileHandle.nullDevice
    if let log {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
    } else {
        process.standardError = FileHandle.nullDevice
    }
    try process.run()
    return process
}


/// Runs the executable to its end, as a user would; returns its exit status and output.
/// - Parameter combined: standard output and error on one pipe, in `output`, in the order a
///   terminal shows them (to check what is printed after what).
func runCLI(_ arguments: [String], environment: [String: String] = [:], combined: Bool = false) throws -> CommandLineTests.Outcome {
    let executable = try #require(CommandLineTests.executable, "build the executable first (swift build)")
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = combined ? output : errors
    if combined { try errors.fileHandleForWriting.close() }
    try process.run()
    // Read both pipes at once so that neither fills up and blocks the child.
    let errorData = NIOLockedValueBox(Data())
    let finished = DispatchSemaphore(value: 0)
    Thread {
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        errorData.withLockedValue { $0 = data }
        finished.signal()
    }.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    finished.wait()
    process.waitUntilExit()
    return CommandLineTests.Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                                    errors: String(decoding: errorData.withLockedValue { $0 }, as: UTF8.self))
}
