import Kafka
import Logging
import MParticle

/// The dead-letter topic on Kafka.
public final class KafkaDeadLetterSink: DeadLetterSink {
    private let producer: KafkaProducer
    private let topic: String
    private let backoff: Backoff
    private let logger: Logger
    private let stats: RelayStats

    public init(producer: KafkaProducer, topic: String, backoff: Backoff = .kafka,
                stats: RelayStats, logger: Logger) {
        self.producer = producer
        self.topic = topic
        self.backoff = backoff
        self.stats = stats
        self.logger = logger
    }

    public func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws {
        let headers = DeadLetterHeaders.headers(for: message, details)
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                // The source record's timestamp, unchanged (when it was parked is a header).
                try await producer.send(topic: topic, key: message.key, value: message.value, headers: headers, timestampMs: message.timestampMs)
                return
            } catch let error as KafkaError {
                // The source offset stays unsettled, so nothing is lost; but the partition stalls here.
                stats.deadLetterWriteFailed()
                logger.error("cannot write to the dead-letter topic; holding the source offset and retrying", metadata: [
                    "dead_letter_topic": "\(topic)", "source": "\(message.topicPartition)@\(message.offset)",
                    "reason": "\(details.reason.rawValue)", "error": "\(error)", "attempt": "\(attempt + 1)",
                ])
                try await Task.sleep(for: backoff.delay(attempt: attempt))
                attempt += 1
            }
        }
    }

    public func close() async {
        await producer.close()
    }
}
