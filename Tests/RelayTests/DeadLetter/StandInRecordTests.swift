import Currents
import Foundation
import Kafka
import MParticle
import Testing
@testable import Relay

/// A dead-letter record parked without its source record holds the event's mParticle batch;
/// `dlq redrive` takes it apart where the relay put it together, and sends it as it is.
@Suite(.timeLimit(.minutes(10))) struct StandInRecordTests {
    let location = RecordLocation(topicPartition: TopicPartition("braze.currents", 3), offset: 41, timestampMs: 1_700_000_000_123)
    let mapper = EventMapper(environment: .production, identityKey: "customerid",
                             router: FeedRouter(configuredFeeds: [.ios, .unbound], apps: [:]), selection: EventSelection())

    /// What the relay encodes for one event.
    func encoded(_ record: String) throws -> RecordTransform.Send {
        let transform = RecordTransform(mapper: mapper, maxAgeMs: .max, historicalAfterMs: .max)
        let outcome = transform.apply(KafkaMessage(topicPartition: location.topicPartition, offset: 0, timestampMs: nil, key: nil,
                                                   value: Array(record.utf8)), wallNow: 1_800_000_000_000)
        return try #require(outcome.sends.first)
    }

    let push = #"{"event_type":"users.messages.pushnotification.Send","id":"e-1","time":1767225000,"user":{"external_user_id":"u-1"},"properties":{"platform":"ios","device_id":"d-1","campaign_name":"a \"quoted\" ,\"events\":[ name"}}"#

    @Test func aStandInComesApartIntoTheHeaderAndEventTheRelayEncoded() throws {
        let send = try encoded(push)
        let record = StandInRecord.record(for: location, batch: EncodedBatch(header: send.header, events: [send.payload]))
        #expect(record.topicPartition == location.topicPartition && record.offset == 41 && record.timestampMs == location.timestampMs)
        #expect(record.key == nil && record.headers.isEmpty)
        let parts = try #require(StandInRecord.parts(of: record.value ?? []))
        #expect(parts.header == send.header && parts.event == send.payload)
        #expect(parts.id == "e-1" && parts.timestampMs == 1_767_225_000_000)
    }

    @Test func valuesThatAreNotABatchOfOneEventAreRefused() throws {
        let send = try encoded(push)
        var two = JSONWriter()
        EncodedBatch(header: send.header, events: [send.payload, send.payload]).write(into: &two)
        let notJSON = Array("{\"environment\":".utf8)
        let noID = Array(#"{"environment":"production","events":[{"event_type":"custom_event","data":{}}]}"#.utf8)
        // An "events" key in the batch-level parts is not where the relay would have put it.
        let moved = Array(#"{"events":[{"data":{"source_message_id":"x"}}],"environment":"production"}"#.utf8)
        for value in [two.bytes, notJSON, noID, moved, [], Array("[]".utf8)] {
            #expect(StandInRecord.parts(of: value) == nil, "\(String(decoding: value, as: UTF8.self))")
        }
    }

    @Test func aRedrivenStandInIsSentAsItIsToItsInputOrParkedAgainWithTheReason() throws {
        let send = try encoded(push)
        #expect(send.feed == .ios)
        let standIn = StandInRecord.record(for: location, batch: EncodedBatch(header: send.header, events: [send.payload]))
        func parked(feed: String, value: [UInt8]? = nil) -> KafkaMessage {
            let details = DeadLetterDetails(reason: .expired, message: "old", feed: Feed(rawValue: feed) ?? .web, parkedMs: 5, originalGone: true)
            var headers = DeadLetterHeaders.headers(for: standIn, details)
            if Feed(rawValue: feed) == nil { headers = headers.map { $0.key == DeadLetterHeaders.feedHeader ? KafkaHeader(key: $0.key, string: feed) : $0 } }
            return KafkaMessage(topicPartition: TopicPartition("braze.currents.dlq", 0), offset: 9, timestampMs: 1, key: nil,
                                value: value ?? standIn.value, headers: headers)
        }
        let redrive = RecordTransform(mapper: mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000, ageFromFirstRead: true, redrive: true)
        let now: Int64 = 1_767_300_000_000
        let sent = redrive.apply(parked(feed: "ios"), wallNow: now)
        #expect(sent.parks.isEmpty && sent.sends.count == 1 && sent.decodedEvents == 1)
        #expect(sent.sends.first?.feed == .ios && sent.sends.first?.payload == send.payload && sent.sends.first?.header == send.header)
        #expect(sent.sends.first?.eventID == "e-1" && sent.sends.first?.historical == false)
        // 40 days later it goes to the historical endpoint.
        #expect(redrive.apply(parked(feed: "ios"), wallNow: now + 40 * 86_400_000).sends.first?.historical == true)
        // An input this configuration does not send to, or a value that is not a batch: parked again.
        let unknown = redrive.apply(parked(feed: "ipad"), wallNow: now)
        #expect(unknown.sends.isEmpty && unknown.parks.first?.reason == .poison)
        #expect(unknown.parks.first?.message.contains("ipad") == true && unknown.parks.first?.eventID == "e-1")
        let web = redrive.apply(parked(feed: "web"), wallNow: now)
        #expect(web.sends.isEmpty && web.parks.first?.message.contains("\"web\"") == true, "web has no credentials here")
        let broken = redrive.apply(parked(feed: "ios", value: Array("{}".utf8)), wallNow: now)
        #expect(broken.sends.isEmpty && broken.parks.first?.message.contains("not an mParticle batch") == true)
        // Parked again (refused again, or as poison here), it still says what its value is: a
        // second redrive must send it as a batch too, not read it as Currents.
        let again = KafkaMessage(topicPartition: TopicPartition("braze.currents.dlq", 0), offset: 10, timestampMs: 1, key: nil, value: standIn.value,
                                 headers: DeadLetterHeaders.headers(for: parked(feed: "ios"), DeadLetterDetails(reason: .rejected, message: "400", feed: .ios, parkedMs: 6)))
        #expect(again.header(DeadLetterHeaders.originalHeader)?.stringValue == "gone")
        #expect(again.headers.filter { $0.key == DeadLetterHeaders.originalHeader }.count == 1)
        #expect(redrive.apply(again, wallNow: now).sends.first?.payload == send.payload)
        // Outside a redrive the header means nothing: the record is read as Currents (and is not).
        let relay = RecordTransform(mapper: mapper, maxAgeMs: .max, historicalAfterMs: .max)
        #expect(relay.apply(parked(feed: "ios"), wallNow: now).sends.isEmpty)
    }
}
