import Kafka

/// Where records come from (and can be read again) and where settled offsets go: the Kafka consumer, or a test double.
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
    /// Reads records this source handed over earlier, by offset, as they are in Kafka. The pipeline
    /// keeps only where an unsettled record is, and reads it again when it must be parked after
    /// all. An offset missing from the answer is no longer in Kafka (retention, compaction).
    func reread(_ offsets: [TopicPartition: [Int64]]) async throws -> [TopicPartition: [Int64: KafkaMessage]]
}

extension KafkaConsumer: RecordSource {}
