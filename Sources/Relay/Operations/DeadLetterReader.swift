import Foundation
import Kafka
import Logging
import MParticle
import NIOConcurrencyHelpers

/// Reads given offset ranges of a topic once, with an assignment of its own and no commits
/// (`dlq inspect`).
public enum DeadLetterReader {
    /// Calls `handle` with every record in `ranges` (start inclusive, end exclusive), in order per
    /// partition. Gives up with an error if no record arrives for `stallTimeout`.
    public static func read(_ ranges: [TopicPartition: (Int64, Int64)], configuration: RelayConfiguration, logger: Logger,
                            stallTimeout: Duration = .seconds(30), handle: (KafkaMessage) -> Void) async throws {
        var settings = KafkaConsumerConfiguration(bootstrapServers: configuration.kafka.bootstrapServers,
                                                  groupID: "\(configuration.kafka.groupID).inspect", clientID: "\(configuration.name)-dlq-inspect",
                                                  topics: [])
        settings.properties = configuration.kafka.properties
        settings.properties["group.instance.id"] = nil
        settings.assignment = ranges.mapValues { $0.0 }
        settings.commitsOffsets = false
        let consumer = try KafkaConsumer(configuration: settings, logger: logger)
        try consumer.start()
        let lastProgress = NIOLockedValueBox(ContinuousClock.now)
        let watchdog = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if ContinuousClock.now - lastProgress.withLockedValue({ $0 }) > stallTimeout {
                    await consumer.close()
                    return
                }
            }
        }
        var next = ranges.mapValues { $0.0 }
        func done() -> Bool { ranges.allSatisfy { next[$0.key]! >= $0.value.1 } }
        if !done() {
            loop: for await event in consumer.events {
                guard case .messages(let messages) = event else { continue }
                lastProgress.withLockedValue { $0 = .now }
                for message in messages {
                    guard let range = ranges[message.topicPartition] else { continue }
                    if message.offset < range.1 { handle(message) }
                    next[message.topicPartition] = max(next[message.topicPartition]!, message.offset + 1)
                }
                consumer.handled(messages.count)
                if done() { break loop }
            }
        }
        watchdog.cancel()
        let complete = done()
        await consumer.close()
        guard complete else {
            let missing = ranges.filter { next[$0.key]! < $0.value.1 }.map { "\($0.key) at \(next[$0.key]!) of \($0.value.1)" }
            throw KafkaError(kind: .client, message: "reading stalled (no record for \(stallTimeout)): \(missing.sorted().joined(separator: ", "))")
        }
    }
}
