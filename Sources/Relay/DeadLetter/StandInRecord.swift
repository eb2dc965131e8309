import Kafka
import Currents
import MParticle

/// A dead-letter record parked without its source record, which was gone from Kafka when the
/// relay read it again (retention): its value is the event's mParticle batch, one event under the
/// batch-level parts the relay had encoded (``StandInRecord/record(for:batch:)``), and it carries
/// `currents.relay.original: gone`. `dlq redrive` sends it as it is, to the input that parked it.
public enum StandInRecord {
    /// What is parked for an event whose source record is gone from Kafka: a record at the
    /// source's coordinates and timestamp whose value is the event's mParticle batch (the batch
    /// header with this one event), with no key and no source headers.
    public static func record(for location: RecordLocation, batch: EncodedBatch) -> KafkaMessage {
        var writer = JSONWriter(capacity: batch.byteCount)
        batch.write(into: &writer)
        return KafkaMessage(topicPartition: location.topicPartition, offset: location.offset, timestampMs: location.timestampMs,
                            key: nil, value: writer.bytes)
    }

    struct Parts: Equatable {
        /// The batch-level parts as the relay writes them (`EncodedBatch.header`).
        var header: [UInt8]
        var event: [UInt8]
        var id: String
        /// The event's `timestamp_unixtime_ms`, if it has one.
        var timestampMs: Int64?
        var eventType: String
    }

    static let eventsKey = Array(#","events":["#.utf8)

    /// The header and the event of a stand-in's value, or nil when it is not a batch of exactly
    /// one event as the relay writes one: the bytes are split where the relay joined them, and
    /// both halves are checked to parse to what the whole says.
    static func parts(of value: [UInt8]) -> Parts? {
        guard case .object(let batch)? = try? JSONParser.parse(value), case .array(let events)? = batch["events"], events.count == 1,
              case .object(let event) = events[0], case .object(let data)? = event["data"],
              let id = data["source_message_id"]?.stringValue,
              value.first == UInt8(ascii: "{"), value.count >= 2, value.suffix(2).elementsEqual("]}".utf8),
              let split = value.firstRange(of: eventsKey)?.lowerBound else { return nil }
        let header = Array(value[1..<split])
        let eventBytes = Array(value[(split + eventsKey.count)..<(value.count - 2)])
        // The halves must be the batch's parts: the header all of it but "events", the event whole.
        var withoutEvents = batch
        withoutEvents["events"] = nil
        guard (try? JSONParser.parse([UInt8(ascii: "{")] + header + [UInt8(ascii: "}")])) == .object(withoutEvents),
              (try? JSONParser.parse(eventBytes)) == events[0] else { return nil }
        var timestamp: Int64?
        if case .int(let milliseconds)? = data["timestamp_unixtime_ms"] { timestamp = milliseconds }
        return Parts(header: header, event: eventBytes, id: id, timestampMs: timestamp,
                     eventType: event["event_type"]?.stringValue ?? "-")
    }
}
