import Currents
import Foundation
import Kafka
import MParticle
import Testing
@testable import Relay

/// mParticle's per-event limits (SPEC.md §1: 100 custom attributes, names ≤ 256 and values ≤ 4,096
/// characters), kept by the mapper before an event is batched.
@Suite(.timeLimit(.minutes(10))) struct AttributeLimitsTests {
    let mapper = EventMapper(environment: .production, identityKey: "customerid",
                             router: FeedRouter(configuredFeeds: [.unbound], apps: [:]), selection: EventSelection())

    /// `count` custom properties named `prop_000`, `prop_001`, ...
    static func properties(_ count: Int) -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { (String(format: "prop_%03d", $0), JSONValue.string("v\($0)")) })
    }

    /// A golden fixture's input as the decoder reads it, with `extra` added to its fields.
    static func goldenEvent(_ name: String, adding extra: [String: JSONValue] = [:]) throws -> CurrentsEvent {
        let data = try Data(contentsOf: GoldenMappingTests.folder.appendingPathComponent(name))
        let fixture = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let input = try #require(fixture["input"] as? [String: Any])
        var event = try CurrentsDecoder().decode(value: [UInt8](try JSONSerialization.data(withJSONObject: input)), eventTypeHeader: nil,
                                                 topic: "braze.currents").get()[0].get()
        event.fields.merge(extra) { $1 }
        return event
    }

    /// The case found: 312 properties on a wide event, for every type of the catalogue (each golden
    /// fixture carries its type's Braze fields). Exactly 100 attributes arrive, every attribute
    /// the type's mapping sends without the extra properties is kept with its value, and the rest
    /// are the first properties in name order.
    @Test(arguments: GoldenMappingTests.fixtureNames)
    func threeHundredTwelvePropertiesArriveAsOneHundredAttributesWithEveryBrazeFieldKept(_ name: String) throws {
        let plain = try GoldenMappingTests.mapper.map(try Self.goldenEvent(name)).get()
        let wide = try GoldenMappingTests.mapper.map(try Self.goldenEvent(name, adding: Self.properties(312))).get()
        let attributes = wide.payload.customAttributes
        #expect(attributes.count == EventsAPILimits.maxCustomAttributes, "\(name)")
        for (key, value) in plain.payload.customAttributes {
            #expect(attributes[key] == value, "\(name): the mapped field \(key) was not kept")
        }
        let kept = attributes.keys.filter { $0.hasPrefix("prop_") }.sorted()
        let room = EventsAPILimits.maxCustomAttributes - plain.payload.customAttributes.count
        #expect(kept == (0..<room).map { String(format: "prop_%03d", $0) }, "\(name): the first properties by name")
        #expect(wide.truncations == AttributeTruncations(count: 312 - room), "\(name)")
        // Nothing but the attributes changes.
        #expect(wide.header == plain.header && wide.feed == plain.feed && wide.payload.eventName == plain.payload.eventName)
    }

    /// The fixtures' attributes are what "Braze fields" means: each one is in the set, or a wide
    /// event could push it out.
    @Test func everyAttributeAGoldenFixtureSendsIsABrazeField() throws {
        for name in GoldenMappingTests.fixtureNames {
            let mapped = try GoldenMappingTests.mapper.map(try Self.goldenEvent(name)).get()
            for key in mapped.payload.customAttributes.keys where key != "source_request_id" {
                let known = EventMapper.brazeFields.contains(key)
                #expect(known, "\(name): \(key) is not in EventMapper.brazeFields")
            }
        }
    }

    /// Every Braze field that can be an attribute, plus `source_request_id`, fits in one event: a
    /// wide payload can only ever push out the customer's own properties.
    @Test func theBrazeFieldsAlwaysFitUnderTheLimit() {
        let attributes = EventMapper.brazeFields.subtracting(EventMapper.excludedFields)
        #expect(attributes.count + 1 <= EventsAPILimits.maxCustomAttributes, "\(attributes.count) Braze fields")
    }

    /// Braze fields win over properties that sort before them, and the choice does not depend on
    /// the order the fields were read in.
    @Test func brazeFieldsComeFirstWhateverTheirNamesAndTheOrderIsStable() throws {
        var fields = Self.properties(150)
        // Sorted after every prop_: kept only because they are Braze fields.
        fields["send_id"] = "s-1"
        fields["url"] = "https://example.com"
        // Sorted before them, but the customer's own: cut before any Braze field.
        fields["aaa_custom"] = "first by name"
        fields["external_user_id"] = "u"
        var first: [String: AttributeValue]?
        for round in 0..<20 {
            var shuffled: [String: JSONValue] = [:]
            var generator = SplitMix64(seed: UInt64(round))
            for (key, value) in fields.shuffled(using: &generator) { shuffled[key] = value }
            let mapped = try mapper.map(CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: shuffled)).get()
            let attributes = mapped.payload.customAttributes
            #expect(attributes.count == 100)
            #expect(attributes["send_id"] == .string("s-1") && attributes["url"] == .string("https://example.com"))
            #expect(attributes["source_request_id"] == .string("t"))
            #expect(attributes["aaa_custom"] == .string("first by name"), "a custom name sorted first is kept before later ones")
            // 150 props + aaa_custom + 2 Braze fields + source_request_id = 154.
            #expect(mapped.truncations.count == 54)
            #expect(attributes["prop_095"] != nil && attributes["prop_096"] == nil, "source_request_id, 2 Braze fields, aaa_custom, prop_000...095")
            if let first { #expect(attributes == first, "round \(round) kept other attributes") } else { first = attributes }
        }
    }

    /// At the limit nothing is cut; one more and exactly one property goes.
    @Test func oneHundredAttributesAreKeptAndOneMoreIsCut() throws {
        var fields = Self.properties(99)
        fields["external_user_id"] = "u"
        let atLimit = try mapper.map(CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: fields)).get()
        #expect(atLimit.payload.customAttributes.count == 100 && atLimit.truncations.isEmpty)
        fields["prop_zzz"] = "one too many"
        let over = try mapper.map(CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: fields)).get()
        #expect(over.payload.customAttributes.count == 100)
        #expect(over.payload.customAttributes["prop_zzz"] == nil)
        #expect(over.truncations == AttributeTruncations(count: 1))
    }

    /// A 5,000-character value and a 300-character name are cut, at a character boundary (a
    /// character of two Unicode scalars is never split), each counted under its kind.
    @Test func aLongValueAndALongNameAreCutAtACharacterBoundary() throws {
        let accented = "e\u{301}" // é as two scalars: one character
        let event = CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: [
            "external_user_id": "u", "long_value": .string(String(repeating: accented, count: 5000)),
            String(repeating: "n", count: 300): "x", "short": "ok",
        ])
        let mapped = try mapper.map(event).get()
        let value = try #require(mapped.payload.customAttributes["long_value"])
        #expect(value == .string(String(repeating: accented, count: 4096)))
        if case .string(let text) = value { #expect(text.unicodeScalars.count == 8192) }
        #expect(mapped.payload.customAttributes[String(repeating: "n", count: 256)] == .string("x"))
        #expect(mapped.payload.customAttributes["short"] == .string("ok"))
        #expect(mapped.truncations == AttributeTruncations(nameLength: 1, valueLength: 1))
    }

    /// A long value of a property left out for the count is not also counted as cut: each
    /// attribute is counted once, under what happened to it.
    @Test func aLongValueLeftOutIsCountedOnceAsLeftOut() throws {
        var fields = Self.properties(120)
        fields["zz_long"] = .string(String(repeating: "v", count: 5000))
        fields["aa_long"] = .string(String(repeating: "w", count: 5000))
        fields["external_user_id"] = "u"
        let mapped = try mapper.map(CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: fields)).get()
        #expect(mapped.payload.customAttributes["zz_long"] == nil)
        #expect(mapped.payload.customAttributes["aa_long"] == .string(String(repeating: "w", count: 4096)))
        #expect(mapped.truncations == AttributeTruncations(count: 23, valueLength: 1))
    }

    /// The direct path never cuts: a record over the limit is left to the general path, which
    /// decides what is kept; one at the limit is still taken, with the same bytes.
    @Test func theDirectPathDeclinesAnEventOverTheLimitAndTakesOneAtIt() throws {
        func record(properties: Int) -> [UInt8] {
            let members = (0..<properties).map { String(format: "\"prop_%03d\":%d", $0, $0) }.joined(separator: ",")
            return Array("{\"event_type\":\"users.canvas.Entry\",\"id\":\"wide\",\"time\":1767225000,\"user\":{\"external_user_id\":\"u\"},\"properties\":{\(members)}}".utf8)
        }
        // 99 properties + source_request_id: 100 attributes, taken.
        #expect(DirectTranscoder.transcode(record(properties: 99), mapper: mapper) != nil)
        // 100 and 312: declined.
        #expect(DirectTranscoder.transcode(record(properties: 100), mapper: mapper) == nil)
        #expect(DirectTranscoder.transcode(record(properties: 312), mapper: mapper) == nil)
        // Either way the outcome is the general path's (with every test mapper and setting).
        for count in [99, 100, 312] { DirectTranscoderTests.check(record(properties: count), "\(count) properties") }
        let transform = RecordTransform(mapper: mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000)
        let outcome = transform.apply(KafkaMessage(topicPartition: TopicPartition("t", 0), offset: 0, timestampMs: DirectTranscoderTests.nowMs,
                                                   key: nil, value: record(properties: 312)), wallNow: DirectTranscoderTests.nowMs)
        let send = try #require(outcome.sends.first)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(send.payload)) as? [String: Any])
        let attributes = try #require((payload["data"] as? [String: Any])?["custom_attributes"] as? [String: Any])
        #expect(attributes.count == 100)
        #expect(outcome.truncations == [RecordTransform.Truncated(feed: .unbound, eventType: "users.canvas.Entry", eventID: "wide",
                                                                   cuts: AttributeTruncations(count: 213))])
    }
}

/// When cuts are logged: at most once a minute per event type, with what was cut since.
@Suite(.timeLimit(.minutes(10))) struct TruncationLogTests {
    let minute: UInt64 = 60_000_000_000

    @Test func oncePerMinutePerEventTypeWithTheCutsSinceTheLastLine() {
        var log = TruncationLog()
        let cut = AttributeTruncations(count: 212)
        let first = log.note(eventType: "users.canvas.Entry", feed: .ios, eventID: "a", cuts: cut, nowNs: 1_000)
        #expect(first == TruncationLog.Line(eventType: "users.canvas.Entry", feed: .ios, eventID: "a", cuts: cut, events: 1))
        // Within the minute: counted towards the next line, not logged.
        #expect(log.note(eventType: "users.canvas.Entry", feed: .ios, eventID: "b", cuts: AttributeTruncations(valueLength: 1), nowNs: 1_000 + minute / 2) == nil)
        // Another type has its own minute.
        #expect(log.note(eventType: "users.messages.email.Send", feed: .web, eventID: "c", cuts: AttributeTruncations(nameLength: 2), nowNs: 1_000 + minute / 2) != nil)
        #expect(log.note(eventType: "users.canvas.Entry", feed: .ios, eventID: "d", cuts: cut, nowNs: 1_000 + minute - 1) == nil)
        // A minute after the first line: the next one sums everything since.
        let next = log.note(eventType: "users.canvas.Entry", feed: .android, eventID: "e", cuts: AttributeTruncations(nameLength: 1), nowNs: 1_000 + minute)
        #expect(next == TruncationLog.Line(eventType: "users.canvas.Entry", feed: .android, eventID: "e",
                                           cuts: AttributeTruncations(count: 212, nameLength: 1, valueLength: 1), events: 3))
        #expect(log.note(eventType: "users.canvas.Entry", feed: .ios, eventID: "f", cuts: cut, nowNs: 1_000 + minute + 1) == nil)
        // An event without cuts is not a cut.
        #expect(log.note(eventType: "users.sms.Send", feed: .ios, eventID: "g", cuts: AttributeTruncations(), nowNs: 0) == nil)
    }

    /// Type names come from records (unknown types can be sent): past a bound they share one
    /// entry, so a stream of made-up types neither floods the log nor grows memory.
    @Test func madeUpTypesShareOneEntryPastTheBound() {
        var log = TruncationLog()
        var lines = 0
        for index in 0..<(TruncationLog.maxTypes + 50) {
            if log.note(eventType: "made.up.\(index)", feed: .unbound, eventID: "x", cuts: AttributeTruncations(count: 1), nowNs: 5) != nil { lines += 1 }
        }
        #expect(lines == TruncationLog.maxTypes + 1)
    }
}
