import Foundation
@testable import Kafka
import Logging
import Synchronization
import Testing

/// The Kafka layer against the embedded broker over TCP, with kcat as an independent client.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KafkaRoundTripTests {
    let logger = Logger(label: "kafka-tests")

    func consumerConfiguration(_ cluster: MockCluster, group: String, topics: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group, topics: topics)
        configuration.properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "auto.commit.interval.ms": "200"]
        return configuration
    }

    /// Reads messages until `count` arrived or the timeout passed.
    func collect(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async -> [KafkaMessage] {
        await withTaskGroup(of: [KafkaMessage].self) { group in
            group.addTask {
                var messages: [KafkaMessage] = []
                for await event in consumer.events {
                    if case .messages(let batch) = event { messages += batch }
                    if messages.count >= count { break }
                }
                return messages
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return []
            }
            var result: [KafkaMessage] = []
            for await messages in group {
                if !messages.isEmpty || result.isEmpty { result = messages }
                group.cancelAll()
                break
            }
            return result
        }
    }

    @Test func producedRecordsComeBackWithKeysHeadersAndNullValues() async throws {
        let cluster = try MockCluster(brokers: 3, logger: logger)
        try cluster.createTopic("round-trip", partitions: 3, replicationFactor: 3)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let report = try await producer.send(topic: "round-trip", partition: 1, key: Array("k1".utf8), value: Array("v1".utf8),
                                             headers: [KafkaHeader(key: "event_type", string: "users.canvas.Entry"), KafkaHeader(key: "empty", value: nil)],
                                             timestampMs: 1_700_000_000_123)
        #expect(report.topicPartition == TopicPartition("round-trip", 1))
        #expect(report.offset == 0)
        try await producer.send(topic: "round-trip", partition: 1, key: nil, value: nil)
        try await producer.send(topic: "round-trip", partition: 1, key: Array("k3".utf8), value: [])
        await producer.close()

        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-round-trip", topics: ["round-trip"]), logger: logger)
        try consumer.start()
        let messages = await collect(consumer, count: 3)
        #expect(messages.count == 3)
        guard messages.count == 3 else { await consumer.close(); return }
        #expect(messages.map(\.offset) == [0, 1, 2])
        #expect(messages[0].key == Array("k1".utf8))
        #expect(messages[0].value == Array("v1".utf8))
        #expect(messages[0].timestampMs == 1_700_000_000_123)
        #expect(messages[0].header("event_type")?.stringValue == "users.canvas.Entry")
        #expect(messages[0].headers.contains { $0.key == "empty" && $0.value == nil })
        #expect(messages[1].value == nil)
        #expect(messages[1].key == nil)
        #expect(messages[2].value == nil || messages[2].value == [])

        // Stored offsets are committed, and visible to another client.
        #expect(consumer.storeOffsets([TopicPartition("round-trip", 1): 3]).isEmpty)
        try consumer.commit()
        let inspector = try KafkaInspector(bootstrapServers: cluster.bootstrapServers, groupID: "g-round-trip", logger: logger)
        let committed = try inspector.committed([TopicPartition("round-trip", 1), TopicPartition("round-trip", 0)])
        #expect(committed[TopicPartition("round-trip", 1)] == .some(3))
        #expect(committed[TopicPartition("round-trip", 0)] == .some(nil))
        #expect(try inspector.watermarks(TopicPartition("round-trip", 1)).high == 3)
        #expect(try inspector.partitions(of: "round-trip").count == 3)
        await consumer.close()
    }

    /// A pause holds the poll thread first and is applied in librdkafka only when it lasts: no
    /// record is handed over while paused, briefly or for long, and after each resume every record
    /// arrives exactly once, in order (a pause in librdkafka drops its prefetch; the resume must
    /// fetch again from the last record handed over, and a hold must not lose what was prefetched).
    @Test func pausedConsumersHandOverNothingAndResumeWhereTheyStopped() async throws {
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("paused", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for index in 0..<300 { try await producer.enqueue(topic: "paused", partition: 0, key: nil, value: Array("v\(index)".utf8)) }
        #expect(producer.flush())
        await producer.close()

        var configuration = consumerConfiguration(cluster, group: "g-paused", topics: ["paused"])
        // One batch at a time: the poll thread cannot run ahead of the pauses below.
        configuration.maxBatchSize = 10
        configuration.maxBufferedMessages = 10
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let offsets = Mutex<[Int64]>([])
        // The collector pauses as soon as it holds this many records, before it hands back room.
        let pauseAt = Mutex(10)
        let collector = Task {
            for await event in consumer.events {
                guard case .messages(let batch) = event else { continue }
                let count = offsets.withLock { $0 += batch.map(\.offset); return $0.count }
                if count >= pauseAt.withLock({ $0 }) { consumer.setPaused(true) }
                consumer.handled(batch.count)
            }
        }
        func waitFor(_ what: String, _ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while !condition() {
                if ContinuousClock.now > deadline { Issue.record("timed out waiting for \(what)"); return }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        try consumer.start()

        // A short pause: nothing more is handed over until the resume.
        try await waitFor("the first batch") { offsets.withLock { $0.count } >= 10 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(offsets.withLock { $0.count } == 10)
        pauseAt.withLock { $0 = 150 }
        consumer.setPaused(false)

        // A long one: applied in librdkafka after a second, and still nothing is handed over.
        try await waitFor("150 records") { offsets.withLock { $0.count } >= 150 }
        let atPause = offsets.withLock { $0.count }
        try await waitFor("the pause to reach librdkafka") { consumer.isPausedInLibrdkafka }
        try await Task.sleep(for: .milliseconds(300))
        #expect(offsets.withLock { $0.count } == atPause)
        pauseAt.withLock { $0 = .max }
        consumer.setPaused(false)

        try await waitFor("all 300 records") { offsets.withLock { $0.count } >= 300 }
        #expect(offsets.withLock { $0 } == Array(0..<300))
        #expect(!consumer.isPausedInLibrdkafka)
        await consumer.close()
        collector.cancel()
    }

    /// A backlog far larger than librdkafka's prefetch queue: the queue fills and runs dry about
    /// forty times. Each time, librdkafka alone would look again only when its broker thread wakes
    /// (up to a second later); the consumer wakes the leaders instead. Every record arrives once, in
    /// order, over three leaders; and a consumer that has caught up sends no wake-up requests.
    /// Three brokers, one topic of three partitions holding `perPartition` 1 KB records each, and a
    /// consumer configuration whose prefetch queue holds 48 KB (fetched 16 KB per partition at a
    /// time): the backlog fills and empties the queue dozens of times.
    func backlogThroughASmallQueue(topic: String, perPartition: Int) async throws -> (MockCluster, KafkaConsumerConfiguration) {
        let cluster = try MockCluster(brokers: 3, logger: logger)
        try cluster.createTopic(topic, partitions: 3, replicationFactor: 1)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        producerConfiguration.properties = ["batch.size": "16384"]
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
        for partition in 0..<3 {
            for _ in 0..<perPartition { try await producer.enqueue(topic: topic, partition: Int32(partition), key: nil, value: value) }
        }
        #expect(producer.flush())
        await producer.close()

        var configuration = consumerConfiguration(cluster, group: "g-\(topic)", topics: [topic])
        configuration.properties["queued.max.messages.kbytes"] = "48"
        configuration.properties["fetch.max.bytes"] = "49152"
        configuration.properties["message.max.bytes"] = "49152"
        configuration.properties["max.partition.fetch.bytes"] = "16384"
        return (cluster, configuration)
    }

    /// The consumer's prefetch is capped at 2 MB of queue and 2 MB per fetch. A record larger than
    /// both (5 MB here) still comes through whole and in order: the broker returns the first
    /// batch of a fetch whatever its size, and librdkafka queues it.
    @Test func aRecordLargerThanAFetchAndThePrefetchQueueComesThroughWhole() async throws {
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("large", partitions: 1, replicationFactor: 1)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        producerConfiguration.properties = ["message.max.bytes": "10000000"]
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let large = (0..<5_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await producer.send(topic: "large", partition: 0, key: nil, value: Array("before".utf8))
        try await producer.send(topic: "large", partition: 0, key: nil, value: large)
        try await producer.send(topic: "large", partition: 0, key: nil, value: Array("after".utf8))
        await producer.close()

        let configuration = consumerConfiguration(cluster, group: "g-large", topics: ["large"])
        #expect(configuration.librdkafkaProperties.contains { $0 == ("fetch.max.bytes", "2097152") })
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.start()
        let messages = await collect(consumer, count: 3, timeout: scaled(.seconds(60)))
        #expect(messages.map(\.offset) == [0, 1, 2])
        #expect(messages.count == 3 && messages[1].value == large && messages[2].value == Array("after".utf8))
        await consumer.close()
    }

    @Test func aPrefetchQueueThatFillsAndRunsDryWakesTheFetchersAndLosesNothing() async throws {
        let perPartition = 900
        let (cluster, configuration) = try await backlogThroughASmallQueue(topic: "backlog", perPartition: perPartition)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let reported = Mutex(0)
        consumer.setFetcherWakeHandler { reported.withLock { $0 += 1 } }
        try consumer.start()
        let started = ContinuousClock.now
        let messages = await collect(consumer, count: 3 * perPartition, timeout: scaled(.seconds(120)))
        let elapsed = ContinuousClock.now - started
        #expect(messages.count == 3 * perPartition)
        for partition in 0..<3 {
            #expect(messages.filter { $0.partition == Int32(partition) }.map(\.offset) == (0..<Int64(perPartition)).map { $0 })
        }
        let wakes = consumer.fetcherWakes
        #expect(wakes > 0)
        #expect(reported.withLock { $0 } == wakes, "each wake-up reaches the handler (the relay's metric)")
        // 2.7 MB through a 48 KB queue: about sixty fills. Waiting for librdkafka's own wake-up,
        // each would cost up to a second; how much the wake-ups save is the machine's business
        // (printed here), that they happened and lost nothing is the test's.
        print("prefetch: \(messages.count) records in \(elapsed) with \(wakes) wake-ups")

        // The last batch's wake-up, if any, comes right after its hand-over: let it pass, then a
        // consumer that has caught up must send none.
        try await Task.sleep(for: .milliseconds(500))
        let settled = consumer.fetcherWakes
        try await Task.sleep(for: .seconds(2))
        #expect(consumer.fetcherWakes == settled, "a consumer that has caught up sent wake-up requests")
        await consumer.close()
        withExtendedLifetime(cluster) {}
    }

    /// The brokers go down in the middle of a drain that keeps waking the fetchers, and every
    /// wake-up request is answered with an error: once they are back, every record has arrived
    /// and the wake-ups went on. (The consumer does not wait for the answers: sending the request
    /// is what wakes a broker thread.) An outage may bring records twice (seen under CI's load: 2
    /// and 112 of 2,700; the cause is not established); the relay's tracker takes a partition
    /// that goes back as a new life, so a duplicate is sent again, never lost.
    @Test func brokersDownAndFailingWakeUpRequestsLoseNothing() async throws {
        let perPartition = 900
        let (cluster, smallQueue) = try await backlogThroughASmallQueue(topic: "wake-fails", perPartition: perPartition)
        var configuration = smallQueue
        // The poll thread hands over at most 20 records the reader has not handled: however late
        // this task is scheduled, the drain cannot run ahead of it.
        configuration.maxBatchSize = 10
        configuration.maxBufferedMessages = 20
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.start()
        let messages = Mutex<[KafkaMessage]>([])
        let wakesBefore = Mutex(-1)
        let reader = Task {
            for await event in consumer.events {
                guard case .messages(let batch) = event else { continue }
                let partitions = messages.withLock { $0 += batch; return Set($0.map(\.partition)).count }
                if partitions == 3 && wakesBefore.withLock({ $0 }) < 0 {
                    // Once every partition has started (their own offset lookups, ListOffsets too,
                    // are done), and before the reader takes more (so the outage lands mid-drain
                    // however the machine schedules this task): every ListOffsets request fails
                    // from now on, and the brokers go down.
                    cluster.failNextRequests(apiKey: MockCluster.ApiKey.listOffsets, error: -1, count: 10_000)
                    wakesBefore.withLock { $0 = consumer.fetcherWakes }
                    for broker in Int32(1)...3 {
                        do { try cluster.setBroker(broker, up: false) } catch { Issue.record("broker \(broker) could not be taken down: \(error)") }
                    }
                }
                consumer.handled(batch.count)
            }
        }
        func waitFor(_ what: String, _ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + scaled(.seconds(90))
            while !condition() {
                if ContinuousClock.now > deadline { Issue.record("timed out waiting for \(what)"); return }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await waitFor("every partition started and the brokers down") { wakesBefore.withLock { $0 } >= 0 }
        try await Task.sleep(for: .seconds(1))
        let duringOutage = messages.withLock { $0.count }
        for broker in Int32(1)...3 { try cluster.setBroker(broker, up: true) }
        try await waitFor("every record") { Set(messages.withLock { $0 }.map { "\($0.partition)/\($0.offset)" }).count >= 3 * perPartition }
        reader.cancel()

        let received = messages.withLock { $0 }
        for partition in 0..<3 {
            let offsets = received.filter { $0.partition == Int32(partition) }.map(\.offset)
            #expect(Set(offsets) == Set(0..<Int64(perPartition)), "partition \(partition): \(Set(offsets).count) distinct records")
        }
        #expect(consumer.fetcherWakes > wakesBefore.withLock { $0 }, "the drain went on waking the fetchers")
        #expect(duringOutage < 3 * perPartition, "the outage came before the end of the drain")
        await consumer.close()
    }

    @Test func kcatReadsWhatWeProduceAndWeReadWhatKcatProduces() async throws {
        let kcat = try #require(["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                "kcat is needed (scripts/setup installs it)")
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("interop", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for index in 0..<5 {
            try await producer.send(topic: "interop", key: Array("key-\(index)".utf8), value: Array("value-\(index)".utf8),
                                    headers: [KafkaHeader(key: "h", string: "x\(index)")])
        }
        await producer.close()
        let read = try run(kcat, ["-C", "-b", cluster.bootstrapServers, "-t", "interop", "-e", "-q", "-f", "%k=%s %h\\n"])
        #expect(read.split(separator: "\n").map(String.init) == (0..<5).map { "key-\($0)=value-\($0) h=x\($0)" })

        _ = try run(kcat, ["-P", "-b", cluster.bootstrapServers, "-t", "interop", "-K", ":"], input: "a:1\nb:2\n")
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "g-interop", topics: ["^inter.*"]), logger: logger)
        try consumer.start()
        let messages = await collect(consumer, count: 7)
        #expect(messages.count == 7)
        #expect(messages.suffix(2).map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["1", "2"])
        #expect(messages.suffix(2).map { String(decoding: $0.key ?? [], as: UTF8.self) } == ["a", "b"])
        await consumer.close()
    }

    @Test func offsetsAreCommittedEverySecondUnlessThePropertiesSayOtherwise() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"])
        // librdkafka applies the properties in order: the last value of a key is the one it keeps.
        func interval() -> String? { configuration.librdkafkaProperties.last { $0.0 == "auto.commit.interval.ms" }?.1 }
        #expect(interval() == "1000")
        configuration.properties = ["auto.commit.interval.ms": "5000"]
        #expect(interval() == "5000")
    }

    @Test func librdkafkaRejectionsAreConfigurationErrorsWithoutSecrets() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"])
        configuration.properties = ["no.such.property": "1"]
        #expect {
            _ = try KafkaConsumer(configuration: configuration, logger: logger)
        } throws: { error in
            let error = error as? KafkaError
            return error?.kind == .configuration && error?.message.contains("no.such.property") == true
        }
        configuration.properties = ["sasl.password": "hunter2", "security.protocol": "bogus"]
        #expect {
            _ = try KafkaConsumer(configuration: configuration, logger: logger)
        } throws: { error in
            let text = "\(error)"
            return text.contains("security.protocol") && !text.contains("hunter2")
        }
    }

    func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
