import Kafka
import Logging
import MParticle

/// Why a message was parked in the dead-letter topic.
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// Not accepted by mParticle before `dead_letter.max_age` (48 h by default).
    case expired
    /// The record could not be read as Currents events.
    case poison
    /// mParticle refused this one event (400, 413 or another 4xx) after the request was split down to it.
    case rejected
}

/// What is known about one parked message, beyond the source record.
public struct DeadLetterDetails: Sendable, Equatable {
    public var reason: DeadLetterReason
    /// A readable explanation: the decode error, the response body, the age.
    public var message: String
    public var feed: Feed?
    public var httpStatus: Int?
    /// The Braze event id, when one event of a many-event record is parked.
    public var eventID: String?
    public var firstAttemptMs: Int64?
    public var parkedMs: Int64
    /// The source record was gone from Kafka when it was read again to be parked (retention), so
    /// the dead-letter record holds what the relay still had: the event's mParticle batch.
    public var originalGone: Bool

    public init(reason: DeadLetterReason, message: String, feed: Feed? = nil, httpStatus: Int? = nil,
                eventID: String? = nil, firstAttemptMs: Int64? = nil, parkedMs: Int64, originalGone: Bool = false) {
        self.reason = reason
        self.message = message
        self.feed = feed
        self.httpStatus = httpStatus
        self.eventID = eventID
        self.firstAttemptMs = firstAttemptMs
        self.parkedMs = parkedMs
        self.originalGone = originalGone
    }
}

/// The dead-letter record: the source record's key, value and headers, plus headers that say where
/// it came from and why, with Kafka Connect's names where they fit so existing tooling reads them.
public enum DeadLetterRecord {
    public static let topicHeader = "__connect.errors.topic"
    public static let partitionHeader = "__connect.errors.partition"
    public static let offsetHeader = "__connect.errors.offset"
    public static let exceptionMessageHeader = "__connect.errors.exception.message"
    public static let reasonHeader = "currents.relay.reason"
    public static let feedHeader = "currents.relay.feed"
    public static let httpStatusHeader = "currents.relay.http.status"
    public static let firstAttemptHeader = "currents.relay.first.attempt.ms"
    public static let parkedHeader = "currents.relay.parked.ms"
    public static let eventIDHeader = "currents.relay.event.id"
    /// On a record parked again after `dlq redrive`: one line per earlier parking, oldest first.
    public static let historyHeader = "currents.relay.history"
    /// On a record parked again after `dlq redrive`: how many times it was redriven.
    public static let redriveCountHeader = "currents.relay.redrive.count"
    /// `gone` when the source record was no longer in Kafka when the relay read it again to park
    /// it (retention): the value is then the event's mParticle batch, as the relay would have sent
    /// it, and the key and the source's own headers are missing.
    public static let originalHeader = "currents.relay.original"

    /// Headers of ours are replaced, not repeated, when a redriven record is parked again.
    static let ownHeaders: Set<String> = [
        topicHeader, partitionHeader, offsetHeader, exceptionMessageHeader, reasonHeader, feedHeader,
        httpStatusHeader, firstAttemptHeader, parkedHeader, eventIDHeader, historyHeader, redriveCountHeader, originalHeader,
    ]

    /// The headers of the parked record. The exception message is cut to 4 KB.
    ///
    /// A dead-letter record that is parked again (after `dlq redrive`) keeps the coordinates of its
    /// original source record, and its earlier parkings move to `currents.relay.history`.
    public static func headers(for message: KafkaMessage, _ details: DeadLetterDetails) -> [KafkaHeader] {
        var headers = message.headers.filter { !ownHeaders.contains($0.key) }
        let earlier = message.header(reasonHeader)?.stringValue
        func original(_ key: String, _ fallback: String) -> String {
            earlier == nil ? fallback : (message.header(key)?.stringValue ?? fallback)
        }
        headers.append(KafkaHeader(key: topicHeader, string: original(topicHeader, message.topic)))
        headers.append(KafkaHeader(key: partitionHeader, string: original(partitionHeader, String(message.partition))))
        headers.append(KafkaHeader(key: offsetHeader, string: original(offsetHeader, String(message.offset))))
        if let earlier {
            let line = [
                "reason=\(earlier)",
                "feed=\(message.header(feedHeader)?.stringValue ?? "-")",
                "status=\(message.header(httpStatusHeader)?.stringValue ?? "-")",
                "first_attempt_ms=\(message.header(firstAttemptHeader)?.stringValue ?? "-")",
                "parked_ms=\(message.header(parkedHeader)?.stringValue ?? "-")",
                "message=\((message.header(exceptionMessageHeader)?.stringValue ?? "").prefix(300))",
            ].joined(separator: "; ")
            let history = (message.header(historyHeader)?.stringValue).map { $0 + "\n" + line } ?? line
            headers.append(KafkaHeader(key: historyHeader, string: String(history.suffix(8192))))
            let count = Int(message.header(redriveCountHeader)?.stringValue ?? "") ?? 0
            headers.append(KafkaHeader(key: redriveCountHeader, string: String(count + 1)))
        }
        headers.append(KafkaHeader(key: exceptionMessageHeader, string: String(details.message.prefix(4096))))
        headers.append(KafkaHeader(key: reasonHeader, string: details.reason.rawValue))
        if let feed = details.feed { headers.append(KafkaHeader(key: feedHeader, string: feed.rawValue)) }
        if let status = details.httpStatus { headers.append(KafkaHeader(key: httpStatusHeader, string: String(status))) }
        if let eventID = details.eventID ?? (earlier == nil ? nil : message.header(eventIDHeader)?.stringValue) {
            headers.append(KafkaHeader(key: eventIDHeader, string: eventID))
        }
        if let first = details.firstAttemptMs { headers.append(KafkaHeader(key: firstAttemptHeader, string: String(first))) }
        headers.append(KafkaHeader(key: parkedHeader, string: String(details.parkedMs)))
        // A stand-in parked again (after `dlq redrive`) still holds an mParticle batch, not a record.
        if details.originalGone || (earlier != nil && message.header(originalHeader)?.stringValue == "gone") {
            headers.append(KafkaHeader(key: originalHeader, string: "gone"))
        }
        return headers
    }

    /// What is parked for an event whose source record is gone from Kafka: a record at the
    /// source's coordinates and timestamp whose value is the event's mParticle batch (the batch
    /// header with this one event), with no key and no source headers.
    public static func standIn(for location: RecordLocation, batch: EncodedBatch) -> KafkaMessage {
        var writer = JSONWriter(capacity: batch.byteCount)
        batch.write(into: &writer)
        return KafkaMessage(topicPartition: location.topicPartition, offset: location.offset, timestampMs: location.timestampMs,
                            key: nil, value: writer.bytes)
    }
}

/// Where parked messages go. `park` returns only once the message is safely stored (for Kafka:
/// the delivery report of an `acks=all` idempotent producer); it retries until then.
public protocol DeadLetterSink: Sendable {
    func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws
    func close() async
}

/// The dead-letter topic on Kafka.
public final class KafkaDeadLetterSink: DeadLetterSink {
    private let producer: KafkaProducer
    private let topic: String
    private let backoff: Backoff
    private let logger: Logger
    private let stats: RelayStats

    public init(producer: KafkaProducer, topic: String, backoff: Backoff = Backoff(baseMs: 200, capMs: 10_000),
                stats: RelayStats, logger: Logger) {
        self.producer = producer
        self.topic = topic
        self.backoff = backoff
        self.stats = stats
        self.logger = logger
    }

    public func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws {
        let headers = DeadLetterRecord.headers(for: message, details)
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
