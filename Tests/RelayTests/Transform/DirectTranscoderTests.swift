import Currents
import Foundation
import Kafka
import MParticle
import Testing
@testable import Relay

/// The direct transcoder against the general path it shortcuts: for every record it takes, the
/// outcome (sends byte for byte, parks, skips, counters, age) must be the general path's. Each
/// test also checks the transcoder really took the records it is meant to, or equality would
/// say nothing.
@Suite(.timeLimit(.minutes(10))) struct DirectTranscoderTests {
    static let nowMs: Int64 = 1_767_225_600_000

    /// Mappings that exercise each decision: all feeds, missing feeds, app routing, per-event
    /// batches, unknown types sent, a narrowed selection.
    static let mappers: [EventMapper] = {
        var perEvent = EventMapper(environment: .production, identityKey: "other_id_2",
                                   router: FeedRouter(configuredFeeds: [.ios, .unbound], apps: ["app-web": .ios]), selection: EventSelection())
        perEvent.perEventBatches = true
        return [
            EventMapper(environment: .development, identityKey: "customerid",
                        router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: [:]), selection: EventSelection()),
            perEvent,
            EventMapper(environment: .development, identityKey: "customerid",
                        router: FeedRouter(configuredFeeds: [.android, .web], apps: ["app-ios": .android]),
                        selection: EventSelection(include: ["users.messages.*", "users.behaviors.*"], exclude: ["*.Abort"]),
                        unknownTypes: .send),
        ]
    }()

    /// Per mapper, the live settings and a replay's (age from the first read, and a 1-hour
    /// historical cut so some events go to the historical endpoint), each as the direct and the
    /// general transform.
    static func transforms(_ mapper: EventMapper) -> [(direct: RecordTransform, general: RecordTransform)] {
        [RecordTransform(mapper: mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000),
         RecordTransform(mapper: mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 3_600_000, ageFromFirstRead: true)].map { transform in
            var direct = transform
            direct.direct = true
            var general = transform
            general.direct = false
            return (direct, general)
        }
    }

    /// Applies both paths to `value` with every mapper; records a difference as an issue. True
    /// when the direct path took the record with every mapper, false when with none.
    @discardableResult
    static func check(_ value: [UInt8], timestampMs: Int64? = nowMs, _ label: @autoclosure () -> String) -> Bool? {
        var took = 0
        for (number, mapper) in mappers.enumerated() {
            if DirectTranscoder.transcode(value, mapper: mapper) != nil { took += 1 }
            for (variant, (direct, general)) in transforms(mapper).enumerated() {
                let message = KafkaMessage(topicPartition: TopicPartition("braze.currents", 0), offset: 0, timestampMs: timestampMs, key: nil, value: value)
                let fast = direct.apply(message, wallNow: nowMs)
                let reference = general.apply(message, wallNow: nowMs)
                let where_ = "\(label()) (mapper \(number), settings \(variant))"
                #expect(fast.sends.count == reference.sends.count, "\(where_): sends")
                for (a, b) in zip(fast.sends, reference.sends) {
                    #expect(a.feed == b.feed && a.eventID == b.eventID && a.historical == b.historical, "\(where_)")
                    #expect(String(decoding: a.header, as: UTF8.self) == String(decoding: b.header, as: UTF8.self), "\(where_): header")
                    #expect(String(decoding: a.payload, as: UTF8.self) == String(decoding: b.payload, as: UTF8.self), "\(where_): payload")
                }
                #expect(fast.parks == reference.parks, "\(where_): parks")
                #expect(fast.skips.map { "\($0.reason) \($0.eventType)" } == reference.skips.map { "\($0.reason) \($0.eventType)" }, "\(where_): skips")
                #expect(fast.decodedEvents == reference.decodedEvents && fast.truncations == reference.truncations, "\(where_): counters")
                #expect(fast.ageBaseMs == reference.ageBaseMs, "\(where_): age")
            }
        }
        return took == mappers.count ? true : (took == 0 ? false : nil)
    }

    @Test func sampleEventsOfEveryTypeTranscodeAsTheGeneralPathDoes() {
        var taken = 0, total = 0
        for seed in [UInt64(1), 2, 3] {
            let sample = SampleEvents(seed: seed, anonymousPercent: 10, users: 500, baseTime: Self.nowMs / 1000 - 60, zipfExponent: 1.1)
            for (index, record) in sample.records(count: 400).enumerated() {
                total += 1
                if Self.check(record.value, timestampMs: index % 5 == 0 ? nil : Self.nowMs, "seed \(seed) #\(index) \(record.eventType)") == true { taken += 1 }
            }
        }
        // Every generated record is an ordinary envelope: the fast path must take them all.
        #expect(taken == total, "\(taken) of \(total) taken")
    }

    @Test func generatedEnvelopesTranscodeAsTheGeneralPathDoes() {
        var random = SplitMix64(seed: 7)
        var taken = 0
        for index in 0..<300 {
            let text = EncodingPropertyTests.envelope(&random, index: index, nowSeconds: Self.nowMs / 1000)
            if Self.check(Array(text.utf8), "generated #\(index): \(text.prefix(300))") == true { taken += 1 }
        }
        // The generator mixes in non-ASCII, long and odd values the fast path leaves alone (most
        // of its envelopes); some must still be taken.
        #expect(taken >= 10, "\(taken) of 300 taken")
    }

    @Test func hostileCorpusTranscodesAsTheGeneralPathDoes() throws {
        for hostile in try HostileCase.all() {
            let message = try hostile.message(topicPartition: TopicPartition("braze.currents", 0), offset: 0, nowMs: Self.nowMs)
            guard let value = message.value, value.count < 2_000_000 else { continue }
            Self.check(value, timestampMs: message.timestampMs, "hostile \(hostile.name)")
        }
    }

    /// Edge cases of flattening and encoding the fast path takes, each checked against the general path.
    @Test(arguments: [
        // A top-level field wins over user, user over device over properties; the last duplicate within one object wins.
        #"{"event_type":"users.messages.email.Send","id":"e1","time":1767225000,"campaign_name":"top","user":{"external_user_id":"u1","campaign_name":"user","x":1,"x":2},"device":{"x":3,"device_id":"d"},"properties":{"campaign_name":"props","x":4,"email_address":"a@b.c"}}"#,
        // Properties before user in the record: precedence is by object, not position.
        #"{"properties":{"external_user_id":"p","a":"b"},"time":1767225000,"user":{"external_user_id":"u"},"id":"e2","event_type":"users.messages.sms.Send"}"#,
        // A record's own source_request_id is replaced; content_card_id is renamed and sorts as card_id.
        #"{"event_type":"users.messages.contentcard.Click","id":"e3","time":1767225000,"user":{"external_user_id":"u"},"properties":{"source_request_id":"x","content_card_id":"c1","b":1,"zz":true,"platform":"iOS","ad_id":"ad","ad_id_type":"ios_idfa","ad_tracking_enabled":"false"}}"#,
        // Escapes of every kind, re-escaped as the writer escapes them.
        #"{"event_type":"users.messages.email.Open","id":"e4","time":1767225000,"user":{"external_user_id":"u\"1"},"properties":{"s":"a\/b\\c\"d\b\f\n\r\t\u0000\u001f\u0041\u007f","t":"{\"type\":\"purchase\"}"}}"#,
        // Numbers: doubles, exponents, integers at the edges, negative, zero; null and booleans; containers dropped.
        #"{"event_type":"users.canvas.Entry","id":"e5","time":1767225000,"user":{"external_user_id":42},"properties":{"d":0.5,"e":1E5,"f":-1.25e-3,"g":9223372036854775807,"h":-9223372036854775808,"i":0,"j":-7,"k":null,"l":true,"m":[1,{"a":[]}],"n":{},"o":"", "canvas_step_message_variation_id":"drop"}}"#,
        // A flat event (fields at the top level), whitespace around everything.
        " \n{ \"event_type\" : \"users.messages.pushnotification.Send\" , \"id\" : \"e6\", \"time\" : 1767225000 , \"external_user_id\" : \"u\", \"platform\" : \"android\", \"device_id\":\"d\",\"device_model\":\"Pixel\" } \r\n",
        // Nested event_type and user inside properties are plain fields; a null user is absent.
        #"{"event_type":"users.campaigns.Conversion","id":"e7","time":1767225000,"user":null,"properties":{"event_type":"x","user":{"a":1},"external_user_id":"u","app_id":"a"}}"#,
        // An unknown type, an abort alias, an uninstall.
        #"{"event_type":"users.custom.Thing","id":"e8","time":1767225000,"user":{"external_user_id":"u"}}"#,
        #"{"event_type":"users_canvas_abort","id":"e9","time":1767225000,"user":{"external_user_id":"u"},"properties":{"abort_type":"x"}}"#,
        #"{"event_type":"users.behaviors.Uninstall","id":"e10","time":1767225000,"user":{"external_user_id":"u"},"properties":{"app_id":"app-ios"}}"#,
        // Phones move to user attributes; the email to the identities; old events go historical.
        #"{"event_type":"users.messages.sms.InboundReceive","id":"e11","time":1700000000,"user":{"external_user_id":"u"},"properties":{"user_phone_number":"+1","to_phone_number":"+2"}}"#,
        // A record with both content_card_id and card_id: the renamed one wins.
        #"{"event_type":"users.messages.contentcard.Send","id":"e13","time":1767225000,"content_card_id":"c","card_id":"d","external_user_id":"u","platform":"web"}"#,
        #"{"event_type":"users.messages.contentcard.Send","id":"e14","time":1767225000,"content_card_id":[1],"card_id":"d","external_user_id":"u"}"#,
        // Sorted members copied as runs of the record's bytes, broken by what is inserted
        // (card_id between ca and cb, source_request_id between r and t), dropped (a container,
        // a field moved to device_info), re-encoded (a double, an escape) or spaced (", ").
        #"{"event_type":"users.messages.contentcard.Click","id":"e15","time":1767225000,"user":{"external_user_id":"u","z":1},"properties":{"a":"1","b":2,"c":true,"ca":null,"cb":"x","content_card_id":"cc","d":"y", "e":"z","f":1.5,"g":"h","h":[1],"i":"j","platform":"iOS","q":"a\/b","r":"1","t":"2","u":"3"}}"#,
        // No external id: skipped.
        #"{"event_type":"users.messages.email.Send","id":"e12","time":1767225000,"user":{"user_id":"b"}}"#,
    ])
    func edgeCasesTheFastPathTakes(_ text: String) {
        #expect(Self.check(Array(text.utf8), text) == true, "the fast path should take: \(text)")
    }

    /// Records the fast path leaves to the general path (which words their errors and edge cases).
    @Test(arguments: [
        #"{"events":[{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"user":{"external_user_id":"u"}}]}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"user":{"external_user_id":"ü"}}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"user":{"external_user_id":"u"},"properties":{"x":"\u00e9"}}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"user":{"external_user_id":"u"},"user":{}}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000000,"user":{"external_user_id":"u"}}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":"1767225000","user":{"external_user_id":"u"}}"#,
        #"{"event_type":"users.messages.email.Send","id":7,"time":1767225000,"user":{"external_user_id":"u"}}"#,
        #"{"event_type":"","id":"a","time":1767225000}"#,
        #"{"id":"a","time":1767225000}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"user":"u"}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"x":-0}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"x":1e400}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"x":[1.5]}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"x":99999999999999999999}"#,
        #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"x":1} x"#,
        "\u{FEFF}{\"event_type\":\"users.messages.email.Send\",\"id\":\"a\",\"time\":1767225000}",
        "[]",
    ])
    func recordsTheFastPathLeavesAlone(_ text: String) {
        #expect(Self.check(Array(text.utf8), text) == false, "the fast path should decline: \(text)")
    }

    /// Keys that share their first eight bytes (the index compares those as one number first),
    /// keys of exactly eight bytes and shorter ones, duplicated at every level: with a few fields
    /// the index sorts them in place, with more than 64 it takes the standard sort. Both must give
    /// the general path's attributes, winners and order.
    @Test(arguments: [8, 30, 70, 200])
    func keysSharingTheirFirstEightBytesSortAndWinAsTheGeneralPathSays(fields: Int) {
        let names = ["campaign", "campaign_", "campaign_a", "campaign_ab", "campaign_b", "campaigm_z", "campaigo", "card_id", "content_card_id",
                     "source_request_id", "source_request_idx", "email_address", "platform", "device_model", "ad_id", "ad_id_type"]
        var random = SplitMix64(seed: UInt64(fields))
        func members(_ count: Int, _ tag: String) -> String {
            (0..<count).map { index -> String in
                let name = index < names.count && random.next() % 2 == 0 ? names[index] : "\(names[Int(random.next() % UInt64(names.count))])\(random.next() % 3 == 0 ? "_\(index % 7)" : "")"
                return "\"\(name)\":\"\(tag)-\(index)\""
            }.joined(separator: ",")
        }
        let text = #"{"event_type":"users.messages.contentcard.Impression","id":"e","time":1767225000,"# + members(fields / 4, "top")
            + #","user":{"external_user_id":"u","# + members(fields / 4, "user") + #"},"device":{"# + members(fields / 4, "device")
            + #"},"properties":{"platform":"ios","# + members(fields / 4, "props") + "}}"
        #expect(Self.check(Array(text.utf8), "\(fields) fields") == true)
    }

    /// A record without a Kafka timestamp ages from its event's `time`, on both paths: a recent
    /// one is sent, one older than 48 hours is parked as expired. (`KafkaMessage` stores "no
    /// timestamp" as a sentinel; read wrongly, every such record would look ancient and be parked.)
    @Test func aRecordWithoutATimestampAgesFromItsEventTime() throws {
        let (direct, general) = Self.transforms(Self.mappers[0])[0]
        for (ageSeconds, sent) in [(Int64(60), true), (Int64(49 * 3600), false)] {
            let time = Self.nowMs / 1000 - ageSeconds
            let text = #"{"event_type":"users.messages.email.Send","id":"a","time":"# + "\(time)" + #","user":{"external_user_id":"u"}}"#
            let message = KafkaMessage(topicPartition: TopicPartition("braze.currents", 0), offset: 0, timestampMs: nil, key: nil, value: Array(text.utf8))
            #expect(message.timestampMs == nil)
            for transform in [direct, general] {
                let outcome = transform.apply(message, wallNow: Self.nowMs)
                #expect(outcome.ageBaseMs == time * 1000, "age \(ageSeconds) s")
                #expect(outcome.sends.count == (sent ? 1 : 0), "age \(ageSeconds) s")
                #expect(outcome.parks.map(\.reason) == (sent ? [] : [.expired]), "age \(ageSeconds) s")
            }
        }
        for timestamp: Int64? in [nil, 0, 1, Self.nowMs, .max] {
            #expect(KafkaMessage(topicPartition: TopicPartition("t", 0), offset: 0, timestampMs: timestamp, key: nil, value: nil).timestampMs == timestamp)
        }
    }

    /// An event the direct path takes but no batch can hold: parked as `too_large` by both paths.
    @Test func anEventTooLargeForAnyBatchIsParkedTheSameWay() throws {
        let value = String(repeating: "v", count: RecordIndex.maxValueBytes)
        let attributes = (0..<40).map { "\"attribute_\($0)\":\"\(value)\"" }.joined(separator: ",")
        let text = #"{"event_type":"users.messages.email.Send","id":"big","time":1767225000,"user":{"external_user_id":"u"},"properties":{"# + attributes + "}}"
        #expect(Self.check(Array(text.utf8), "too large") == true)
        let (direct, _) = Self.transforms(Self.mappers[0])[0]
        let outcome = direct.apply(KafkaMessage(topicPartition: TopicPartition("braze.currents", 0), offset: 0, timestampMs: Self.nowMs, key: nil,
                                                value: Array(text.utf8)), wallNow: Self.nowMs)
        let park = try #require(outcome.parks.first)
        #expect(outcome.sends.isEmpty && park.reason == .rejected && park.message.hasPrefix("too_large") && park.eventID == "big")
    }

    @Test func longValuesAndKeysGoToTheGeneralPath() {
        let long = String(repeating: "x", count: RecordIndex.maxValueBytes + 1)
        let key = String(repeating: "k", count: RecordIndex.maxKeyBytes + 1)
        let base = #"{"event_type":"users.messages.email.Send","id":"a","time":1767225000,"user":{"external_user_id":"u"},"properties":{"#
        #expect(Self.check(Array((base + "\"v\":\"\(long)\"}}").utf8), "long value") == false)
        #expect(Self.check(Array((base + "\"\(key)\":1}}").utf8), "long key") == false)
        let fits = String(repeating: "x", count: RecordIndex.maxValueBytes)
        #expect(Self.check(Array((base + "\"v\":\"\(fits)\"}}").utf8), "value at the limit") == true)
    }
}
