import Kafka

/// Where an unsettled record is in Kafka: all the relay keeps of a record once its events are
/// encoded. To park it, the record is read again by offset (`RecordSource.reread`), so the
/// dead-letter record is the source record byte for byte without holding every record's bytes
/// in memory until it settles.
public struct RecordLocation: Hashable, Sendable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    /// The record's timestamp as first read: a record read again must have the same one, or it is
    /// not the record that was taken (the topic was deleted and made again).
    public var timestampMs: Int64?

    public init(topicPartition: TopicPartition, offset: Int64, timestampMs: Int64?) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.timestampMs = timestampMs
    }

    /// Whether `message` is this record, read again.
    public func isRecord(_ message: KafkaMessage) -> Bool {
        message.topicPartition == topicPartition && message.offset == offset && message.timestampMs == timestampMs
    }
}
