import Foundation
@testable import Kafka
import Logging
import Synchronization
import Testing

/// Reading records again by offset (what the relay parks from), against the embedded broker over TCP.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KafkaRecordReaderTests {
    let logger = Logger(label: "kafka-reader-tests")

    @Test func offsetsFarApartAreReadInSeparateRuns() {
        #expect(KafkaRecordReader.runs(of: [5, 3, 3, 4, 9_000, 9_001, -1]) == [[3, 4, 5], [9_000, 9_001]])
        #expect(KafkaRecordReader.runs(of: []) == [])
    }

    @Test func recordsReadAgainAreTheRecordsTakenByteForByte() async throws {
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("reread", partitions: 2)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<3_000 {
                group.addTask {
                    try await producer.send(topic: "reread", partition: Int32(index % 2), key: index % 7 == 0 ? nil : Array("k\(index)".utf8),
                                            value: index == 11 ? nil : Array("value \(index)".utf8),
                                            headers: [KafkaHeader(key: "trace", string: "t\(index)"), KafkaHeader(key: "empty", value: nil)],
                                            timestampMs: 1_700_000_000_000 + Int64(index))
                }
            }
            try await group.waitForAll()
        }
        await producer.close()
        // What a group consumer took, to compare with.
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: "g-reread", topics: ["reread"])
        configuration.properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.start()
        var taken: [TopicPartition: [Int64: KafkaMessage]] = [:]
        var count = 0
        for await event in consumer.events {
            if case .messages(let batch) = event {
                for message in batch { taken[message.topicPartition, default: [:]][message.offset] = message }
                count += batch.count
                consumer.handled(batch.count)
            }
            if count >= 3_000 { break }
        }
        let p0 = TopicPartition("reread", 0), p1 = TopicPartition("reread", 1)
        // Close together, far apart (two runs), the first, the last, and one past the end.
        let wanted: [TopicPartition: [Int64]] = [p0: [0, 5, 6, 3, 1_499, 1_500], p1: [700, 2, 1_499]]
        let found = try await consumer.reread(wanted)
        let clients = OpenClients.count(bootstrapServers: cluster.bootstrapServers)
        await consumer.close()
        #expect(Set(found[p0]?.keys ?? [:].keys) == [0, 3, 5, 6, 1_499])
        #expect(Set(found[p1]?.keys ?? [:].keys) == [2, 700, 1_499])
        for (partition, offsets) in found {
            for (offset, message) in offsets {
                let original = try #require(taken[partition]?[offset])
                #expect(message.topicPartition == partition && message.offset == offset)
                #expect(message.key == original.key)
                #expect(message.value == original.value)
                #expect(message.headers == original.headers)
                #expect(message.timestampMs == original.timestampMs)
            }
        }
        #expect(OpenClients.count(bootstrapServers: cluster.bootstrapServers) == clients - 1, "closing the consumer destroyed its reader")
    }

    @Test func aRecordGoneFromTheLogIsMissingFromTheAnswer() async throws {
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("trimmed", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await producer.send(topic: "trimmed", partition: 0, key: nil, value: Array("first".utf8))
        // The embedded broker keeps about 5 MB per partition: 8 MB more push the first record out,
        // as retention would.
        // Random bytes: the producer compresses (lz4), and repeated ones would take no room.
        var generator = SystemRandomNumberGenerator()
        let filler = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for _ in 0..<80 { try await producer.send(topic: "trimmed", partition: 0, key: nil, value: filler) }
        await producer.close()
        let reader = try KafkaRecordReader(bootstrapServers: cluster.bootstrapServers, clientID: "reader-test", logger: logger)
        let partition = TopicPartition("trimmed", 0)
        let found = try await reader.read([partition: [0, 80]])
        #expect(found[partition]?[0] == nil, "offset 0 is below the log start")
        #expect(found[partition]?[80]?.value == filler)
        reader.close()
        await #expect(throws: KafkaError.self) { try await reader.read([partition: [80]]) }
        // A reader let go without `close` is destroyed all the same.
        let open = OpenClients.count(bootstrapServers: cluster.bootstrapServers)
        try await readOnce(cluster.bootstrapServers, partition)
        #expect(OpenClients.count(bootstrapServers: cluster.bootstrapServers) == open)
    }

    /// With its broker down, a read ends with an error after its timeout, however often the
    /// client reports the broker down (here every few milliseconds: a read that checked its
    /// timeout only when a poll returned nothing would go on for ever), and reads again once the
    /// broker is back.
    @Test func aReadWithTheBrokerDownFailsAfterTheTimeoutAndWorksOnceItIsBack() async throws {
        let cluster = try MockCluster(brokers: 1, logger: logger)
        try cluster.createTopic("down", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await producer.send(topic: "down", partition: 0, key: nil, value: Array("kept".utf8))
        await producer.close()
        let reader = try KafkaRecordReader(bootstrapServers: cluster.bootstrapServers, clientID: "reader-down",
                                           properties: ["reconnect.backoff.ms": "1", "reconnect.backoff.max.ms": "5"], logger: logger)
        let partition = TopicPartition("down", 0)
        try cluster.setBroker(1, up: false)
        let outcome = Mutex<Result<Void, any Error>?>(nil)
        Task {
            do {
                _ = try await reader.read([partition: [0]], timeoutMs: 1_500)
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        // A read that does not end by its timeout is let go (it ends once the broker is back).
        let deadline = ContinuousClock.now + scaled(.seconds(20))
        while outcome.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        switch outcome.withLock({ $0 }) {
        case .failure(let error): #expect(error is KafkaError, "\(error)")
        case .success: Issue.record("a read with the broker down found the record")
        case nil: Issue.record("the read went on \(scaled(.seconds(20))) past its 1.5 s timeout")
        }
        try cluster.setBroker(1, up: true)
        while outcome.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        let found = try await reader.read([partition: [0]], timeoutMs: 30_000)
        #expect(found[partition]?[0]?.value == Array("kept".utf8))
        reader.close()
    }

    /// The read loop ends by its timeout while errors keep coming (one every poll, as from a
    /// broker that is down, on a clock that moves 100 ms a poll), records what it read before,
    /// and stops at the end of the partition or past its last offset.
    @Test func theReadLoopEndsByItsTimeoutWhileErrorsKeepComing() throws {
        let partition = TopicPartition("loop", 0)
        var clock: UInt64 = 0
        var polls = 0
        var found: [Int64: KafkaMessage] = [:]
        let record = KafkaMessage(topicPartition: partition, offset: 5, timestampMs: 1, key: nil, value: Array("r".utf8))
        #expect(throws: KafkaError.self) {
            try KafkaRecordReader.readRun([5, 6], of: partition, timeoutMs: 1_500, into: &found, now: { clock }) {
                polls += 1
                clock += 100_000_000
                // A loop that checked its timeout only on an empty poll would reach the end here.
                if polls > 1_000 { return .endOfPartition }
                return polls == 1 ? .record(offset: 5, message: record) : .error(KafkaError(kind: .client, message: "broker down"))
            }
        }
        #expect(polls <= 20, "\(polls) polls for a 1.5 s timeout at 100 ms a poll")
        #expect(found[5]?.value == Array("r".utf8))

        var endFound: [Int64: KafkaMessage] = [:]
        var script: [KafkaRecordReader.Poll] = [.nothing, .elsewhere, .record(offset: 7, message: nil), .endOfPartition, .error(KafkaError(kind: .client, message: "unreached"))]
        try KafkaRecordReader.readRun([8, 9], of: partition, timeoutMs: 1_500, into: &endFound, now: { 0 }) { script.removeFirst() }
        #expect(script.count == 1 && endFound.isEmpty, "stopped at the end of the partition")
        var pastFound: [Int64: KafkaMessage] = [:]
        script = [.record(offset: 8, message: record), .record(offset: 10, message: nil), .endOfPartition]
        try KafkaRecordReader.readRun([8, 9], of: partition, timeoutMs: 1_500, into: &pastFound, now: { 0 }) { script.removeFirst() }
        #expect(script.count == 1 && Array(pastFound.keys) == [8], "stopped past the last offset")
    }

    func readOnce(_ bootstrapServers: String, _ partition: TopicPartition) async throws {
        let reader = try KafkaRecordReader(bootstrapServers: bootstrapServers, clientID: "reader-dropped", logger: logger)
        #expect(try await reader.read([partition: [80]])[partition]?[80] != nil)
    }
}
