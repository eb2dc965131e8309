/// A topic and one of its partitions: the unit of assignment, ordering and offset tracking.
public struct TopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// librdkafka's logical offsets, for assignments.
public enum KafkaOffset {
    /// The oldest offset still in the log.
    public static let beginning: Int64 = -2
    /// The next offset to be written.
    public static let end: Int64 = -1
    /// The group's committed offset (else `auto.offset.reset`).
    public static let stored: Int64 = -1000
}
