import Kafka

/// Where records come from and where settled offsets go: the Kafka consumer, or a test double.
public protocol RecordSource: Sendable {
    var events: AsyncStream<KafkaConsumerEvent> { get }
    /// Stores commit watermarks; returns the partitions that refused (no longer owned).
    @discardableResult
    func storeOffsets(_ offsets: [TopicPartition: Int64]) -> [TopicPartition: KafkaError]
    func commit() throws
    func pause(_ partitions: [TopicPartition])
    func resume(_ partitions: [TopicPartition])
    func close() async
}

extension KafkaConsumer: RecordSource {}
