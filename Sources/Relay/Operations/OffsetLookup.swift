import Foundation
import Kafka

/// What the offset commands ask the cluster: topics, partitions, watermarks, a group's committed
/// offsets and offsets by timestamp. A protocol so the planning logic is tested without a broker
/// (the embedded broker does not implement ListOffsets by timestamp).
public protocol OffsetLookup: Sendable {
    func topicNames() throws -> [String]
    func partitions(of topic: String) throws -> [TopicPartition]
    func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64)
    /// The group's committed offset per partition; nil where it has none.
    func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?]
    /// The first offset at or after each time (ms since the epoch); the end offset where none is.
    func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64]
}

extension KafkaInspector: OffsetLookup {
    public func topicNames() throws -> [String] { try topics() }
    public func partitions(of topic: String) throws -> [TopicPartition] { try partitions(of: topic, timeoutMs: 10_000) }
    public func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64) { try watermarks(partition, timeoutMs: 10_000) }
    public func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?] { try committed(partitions, timeoutMs: 10_000) }
    public func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        try offsetsForTimes(times, timeoutMs: 10_000)
    }
}
