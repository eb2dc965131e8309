import Kafka

/// Where parked messages go. `park` returns only once the message is safely stored (for Kafka:
/// the delivery report of an `acks=all` idempotent producer); it retries until then.
public protocol DeadLetterSink: Sendable {
    func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws
    func close() async
}
