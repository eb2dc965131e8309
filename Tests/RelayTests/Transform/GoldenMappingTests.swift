import Currents
import Foundation
import Kafka
import MParticle
import Testing
@testable import Relay

/// Golden fixtures: one per Currents event type of the SPEC §4 table, written from SPEC §2–5 (not
/// from the mapper's output). Each file is
/// `{"input": <Custom HTTP connector envelope>, "feed": "ios|android|web|unbound", "expected": <one mParticle batch>}`.
///
/// Configuration the fixtures assume: environment `production`, identity key `customerid`, all four
/// feeds configured, apps map `{"app-android-1": android}`.
@Suite(.timeLimit(.minutes(10))) struct GoldenMappingTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/golden")

    static let fixtureNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: GoldenMappingTests.folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }()

    /// The SPEC §4 table, without the `users.` prefix.
    static let specTypes: Set<String> = [
        "behaviors.Uninstall", "behaviors.subscription.GlobalStateChange", "behaviors.subscriptiongroup.StateChange",
        "campaigns.Abort", "campaigns.Conversion", "campaigns.EnrollInControl",
        "canvas.Abort", "canvas.Conversion", "canvas.Entry", "canvas.exit.MatchedAudience", "canvas.exit.PerformedEvent",
        "canvas.experimentstep.Conversion", "canvas.experimentstep.SplitEntry",
        "messages.contentcard.Abort", "messages.contentcard.Click", "messages.contentcard.Dismiss",
        "messages.contentcard.Impression", "messages.contentcard.Send",
        "messages.email.Abort", "messages.email.Bounce", "messages.email.Click", "messages.email.Delivery",
        "messages.email.MarkAsSpam", "messages.email.Open", "messages.email.Send", "messages.email.SoftBounce",
        "messages.email.Unsubscribe",
        "messages.inappmessage.Abort", "messages.inappmessage.Click", "messages.inappmessage.Impression",
        "messages.pushnotification.Abort", "messages.pushnotification.Bounce", "messages.pushnotification.Open",
        "messages.pushnotification.Send",
        "messages.sms.Abort", "messages.sms.CarrierSend", "messages.sms.Delivery", "messages.sms.DeliveryFailure",
        "messages.sms.InboundReceive", "messages.sms.Rejection", "messages.sms.Send", "messages.sms.ShortLinkClick",
        "messages.webhook.Abort", "messages.webhook.Send",
        "messages.whatsapp.Abort", "messages.whatsapp.Delivery", "messages.whatsapp.Failure",
        "messages.whatsapp.InboundReceive", "messages.whatsapp.Read", "messages.whatsapp.Send",
    ]

    static let mapper = EventMapper(
        environment: .production, identityKey: "customerid",
        router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: ["app-android-1": .android]),
        selection: EventSelection())

    @Test func thereIsOneFixturePerSpecEventType() {
        #expect(Self.specTypes.count == 50)
        #expect(Self.fixtureNames.count == 50, "expected 50 fixtures in \(Self.folder.path), found \(Self.fixtureNames.count)")
        let types = Set(Self.fixtureNames.map { String($0.dropLast(".json".count)) })
        #expect(types.subtracting(Self.specTypes).isEmpty, "fixtures for types not in SPEC §4: \(types.subtracting(Self.specTypes).sorted())")
        #expect(Self.specTypes.subtracting(types).isEmpty, "SPEC §4 types without a fixture: \(Self.specTypes.subtracting(types).sorted())")
    }

    @Test(arguments: GoldenMappingTests.fixtureNames)
    func mapsLikeBrazesExport(_ name: String) throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent(name))
        let fixture = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name): not a JSON object")
        let input = try #require(fixture["input"] as? [String: Any], "\(name): no \"input\" object")
        let feed = try #require(fixture["feed"] as? String, "\(name): no \"feed\" string")
        let expected = try #require(fixture["expected"] as? [String: Any], "\(name): no \"expected\" object")

        let value = [UInt8](try JSONSerialization.data(withJSONObject: input))
        let events = try CurrentsDecoder().decode(value: value, eventTypeHeader: nil, topic: "braze.currents").get()
        try #require(events.count == 1, "\(name): decoded \(events.count) events, expected 1")
        let event = try events[0].get()
        let mapped = try Self.mapper.map(event).get()
        #expect(mapped.feed.rawValue == feed, "\(name): routed to \(mapped.feed.rawValue), expected \(feed)")

        var writer = JSONWriter()
        EncodedBatch(header: mapped.header.encoded(), events: [mapped.payload.encoded()]).write(into: &writer)
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes))
        let actual = try #require(parsed as? [String: Any], "\(name): the batch is not a JSON object: \(String(decoding: writer.bytes, as: UTF8.self))")

        if !NSDictionary(dictionary: actual).isEqual(to: expected) {
            Issue.record("""
                \(name): the batch differs from the golden one.
                --- expected
                \(Self.pretty(expected))
                --- actual
                \(Self.pretty(actual))
                """)
        } else if Self.pretty(actual) != Self.pretty(expected) {
            // NSNumber equality treats true and 1 alike; the canonical text does not.
            Issue.record("""
                \(name): same values but different JSON types (e.g. a boolean sent as a number).
                --- expected
                \(Self.pretty(expected))
                --- actual
                \(Self.pretty(actual))
                """)
        }
    }

    /// Braze's payload for the two canvas exit types leaves out all four deprecated identifiers.
    /// Checked on both paths a record can take (the direct transcoder and the general mapper),
    /// with every identifier present in the record, and `app_group_id` kept.
    @Test(arguments: ["users.canvas.exit.MatchedAudience", "users.canvas.exit.PerformedEvent"])
    func canvasExitsDropTheDeprecatedIdentifiers(_ eventType: String) throws {
        let deprecated = ["app_group_api_id", "canvas_api_id", "canvas_variation_api_id", "canvas_step_api_id"]
        let properties = (["app_group_id"] + deprecated).map { "\"\($0)\":\"v-\($0)\"" }.joined(separator: ",")
        let record = #"{"event_type":"\#(eventType)","id":"e1","time":1767225000,"user":{"user_id":"u1","external_user_id":"x1"},"properties":{\#(properties)}}"#
        let message = KafkaMessage(topicPartition: TopicPartition("braze.currents", 0), offset: 0, timestampMs: 1_767_225_000_000,
                                   key: nil, value: Array(record.utf8))
        for direct in [true, false] {
            var transform = RecordTransform(mapper: Self.mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000)
            transform.direct = direct
            let outcome = transform.apply(message, wallNow: 1_767_225_000_000)
            try #require(outcome.sends.count == 1, "\(eventType) (direct: \(direct)): \(outcome.sends.count) sends")
            let payload = String(decoding: outcome.sends[0].payload, as: UTF8.self)
            for field in deprecated {
                #expect(!payload.contains("\"\(field)\""), "\(eventType) (direct: \(direct)) sends \(field): \(payload)")
            }
            #expect(payload.contains(#""app_group_id":"v-app_group_id""#), "\(eventType) (direct: \(direct)): \(payload)")
        }
    }

    /// Pretty-printed with sorted keys, so two sides can be compared line by line.
    static func pretty(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else {
            return "\(object)"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
