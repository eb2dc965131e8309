import Foundation

/// A record header. Kafka allows a header without a value, so `value` is optional.
public struct KafkaHeader: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    /// The value as UTF-8 text, if it is valid UTF-8.
    public var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

/// One consumed record, copied out of librdkafka so it outlives the C message.
///
/// Its fields live in one shared, immutable object. A record is copied several times on its way
/// (into the batch the poll thread hands over, into the transform, into the offset tracker until
/// it settles): here a copy is one retain, where a plain struct would retain and release its key,
/// value and headers one by one, on cache lines another core wrote last (`docs/performance.md`).
public struct KafkaMessage: Sendable {
    private final class Storage: Sendable {
        let topicPartition: TopicPartition
        /// `byteCount`, worked out once where the record is made (the poll thread, whose cache
        /// holds it), not in the pipeline's actor per record. An `Int32` fits the padding after
        /// `topicPartition`: the object stays 80 bytes.
        let byteCount: Int32
        let offset: Int64
        /// `Int64.min` when the record has none: an optional here would take the object from
        /// jemalloc's 80-byte size class to the 96-byte one, per record in flight.
        let timestampMs: Int64
        let key: [UInt8]?
        let value: [UInt8]?
        let headers: [KafkaHeader]

        init(topicPartition: TopicPartition, offset: Int64, timestampMs: Int64?, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]) {
            self.topicPartition = topicPartition
            let bytes = (key?.count ?? 0) + (value?.count ?? 0) + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
            self.byteCount = Int32(clamping: bytes)
            self.offset = offset
            self.timestampMs = timestampMs ?? .min
            self.key = key
            self.value = value
            self.headers = headers
        }
    }

    private let storage: Storage

    public var topicPartition: TopicPartition { storage.topicPartition }
    public var offset: Int64 { storage.offset }
    /// The record timestamp in milliseconds since the epoch, if the record has one. (`Int64.min`
    /// given to the initializer reads back as none; the consumer never passes a negative one.)
    public var timestampMs: Int64? { storage.timestampMs == .min ? nil : storage.timestampMs }
    /// The key; `nil` when the record has none.
    public var key: [UInt8]? { storage.key }
    /// The value; `nil` for a tombstone (a NULL value).
    public var value: [UInt8]? { storage.value }
    public var headers: [KafkaHeader] { storage.headers }

    public init(
        topicPartition: TopicPartition, offset: Int64, timestampMs: Int64?,
        key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = []
    ) {
        storage = Storage(topicPartition: topicPartition, offset: offset, timestampMs: timestampMs,
                          key: key, value: value, headers: headers)
    }

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }

    /// Bytes this message holds in memory, for in-flight accounting.
    public var byteCount: Int { Int(storage.byteCount) }

    /// The first header with this key.
    public func header(_ key: String) -> KafkaHeader? {
        headers.first { $0.key == key }
    }
}

/// What the poll thread hands to async code, in the order it happened.
public enum KafkaConsumerEvent: Sendable {
    /// A batch of records, in offset order per partition.
    case messages([KafkaMessage])
    /// Partitions newly assigned to this member.
    case assigned([TopicPartition])
    /// Partitions taken away; their stored offsets were committed before this was sent.
    case revoked([TopicPartition])
    /// A client-level error worth reporting (brokers down, etc.). Consumption goes on.
    case error(KafkaError)
}
