import Kafka
import Logging
import MParticle

/// The Kafka record headers of a dead-letter record. A dead-letter record is the source record's
/// key, value and headers, plus these headers, which say where it came from and why, with Kafka
/// Connect's names where they fit so existing tooling reads them.
public enum DeadLetterHeaders {
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
}
