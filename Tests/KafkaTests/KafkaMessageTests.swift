import Testing
@testable import Kafka

@Suite(.timeLimit(.minutes(10))) struct KafkaMessageTests {
    /// What the in-flight byte cap counts: key, value, and each header's name and value.
    @Test func byteCountIsKeyValueAndHeaders() {
        let partition = TopicPartition("t", 0)
        let bare = KafkaMessage(topicPartition: partition, offset: 0, timestampMs: nil, key: nil, value: nil)
        #expect(bare.byteCount == 0)
        let full = KafkaMessage(topicPartition: partition, offset: 1, timestampMs: 5, key: [1, 2, 3], value: Array(repeating: 7, count: 1_000),
                                headers: [KafkaHeader(key: "event_type", string: "users.messages.email.Send"), KafkaHeader(key: "é", value: nil)])
        #expect(full.byteCount == 3 + 1_000 + 10 + 25 + 2)
        #expect(full.key == [1, 2, 3] && full.value?.count == 1_000 && full.headers.count == 2 && full.timestampMs == 5)
    }
}
