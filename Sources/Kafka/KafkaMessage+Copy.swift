import Crdkafka

extension KafkaMessage {
    /// Copies a C message (its key, value, headers and timestamp) so it outlives the message.
    /// `topic` is passed in: the consumer's poll thread caches topic names per handle.
    init(copying message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) {
        let raw = message.pointee
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.init(
            topicPartition: TopicPartition(topic, raw.partition),
            offset: raw.offset,
            timestampMs: timestamp >= 0 ? timestamp : nil,
            key: raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) },
            value: raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) },
            headers: Self.headers(of: message))
    }

    /// The message's headers, in order, values copied.
    static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let key = name.map { String(cString: $0) } ?? ""
            result.append(KafkaHeader(key: key, value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return result
    }
}
