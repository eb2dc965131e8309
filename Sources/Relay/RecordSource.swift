import Kafka

/// Where records come from and where settled offsets go: the Kafka consumer, or a test double.
public protocol RecordSource: Sendable {
    var events: AsyncStream<KafkaConsumerEvent> { get }
    /// Stores commit watermarks; returns the partitions that refused (no longer owned).
    @discardableResult
    func storeOffsets(_ offsets: [TopicPartition: Int64]) -> [TopicPartition: KafkaError]
    func commit() throws
    /// Stops or restarts fetching for every assigned partition (the in-flight cap).
    func setPaused(_ paused: Bool)
    /// The pipeline has processed this many records handed over on `events`.
    func handled(_ count: Int)
    func close() async
}

extension KafkaConsumer: RecordSource {}
