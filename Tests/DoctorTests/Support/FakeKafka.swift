import Dispatch
import Doctor
import Kafka
import NIOConcurrencyHelpers
import Relay

/// A cluster as the checks see it, with every failure a test may want: addresses that refuse,
/// topics missing, offsets that cannot be read, retention the brokers cannot say, and a call
/// that never returns.
struct FakeKafka: KafkaAccess {
    /// The brokers the cluster advertises.
    var brokers = [KafkaBroker(id: 1, host: "b1", port: 9092), KafkaBroker(id: 2, host: "b2", port: 9092)]
    /// Addresses that do not answer, with librdkafka's reason.
    var refusing: [String: KafkaError] = [:]
    /// Topics and their partition counts.
    var topics = ["braze.currents": 6, "braze.currents.dlq": 1]
    /// Committed offsets per topic and partition (none: the group never committed).
    var committed: [String: [Int32: Int64]] = [:]
    /// End offsets of every partition.
    var end: Int64 = 100
    var listingFails: KafkaError?
    var offsetsFail: KafkaError?
    var retention: [String: TopicRetention] = [:]
    var defaultRetention = TopicRetention.milliseconds(7 * 86_400_000)
    /// When set, listing the topics waits on it (a broker that never answers).
    var hang: DispatchSemaphore?

    static func refused(_ address: String) -> KafkaError {
        KafkaError(kind: .client, code: -195, codeName: "_TRANSPORT",
                   message: "\(address)/bootstrap: Connect to ipv4#10.0.0.9:9092 failed: Connection refused (after 0ms in state CONNECT)")
    }

    func brokers(at address: String, timeout: Duration) -> Result<[KafkaBroker], KafkaError> {
        if let error = refusing[address] { return .failure(error) }
        return .success(brokers)
    }

    func topicNames(timeout: Duration) throws -> [String] {
        hang?.wait()
        if let listingFails { throw listingFails }
        return topics.keys.sorted()
    }

    func partitionCount(of topic: String, timeout: Duration) throws -> Int {
        guard let count = topics[topic] else { throw KafkaError(kind: .client, message: "unknown topic \(topic)") }
        return count
    }

    func groupOffsets(group: String, topics: [String], timeout: Duration) throws -> GroupOffsets {
        if let offsetsFail { throw offsetsFail }
        return try GroupOffsets.read(topics: topics, only: nil, lookup: Lookup(fake: self))
    }

    func retention(of topic: String, timeout: Duration) -> TopicRetention {
        retention[topic] ?? defaultRetention
    }

    /// `offsets show`'s lookup over the fake's topics.
    struct Lookup: OffsetLookup {
        let fake: FakeKafka
        func topicNames() throws -> [String] { fake.topics.keys.sorted() }
        func partitions(of topic: String) throws -> [TopicPartition] {
            (0..<Int32(fake.topics[topic] ?? 0)).map { TopicPartition(topic, $0) }
        }
        func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64) { (0, fake.end) }
        func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?] {
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, fake.committed[$0.topic]?[$0.partition]) })
        }
        func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] { [:] }
    }
}
