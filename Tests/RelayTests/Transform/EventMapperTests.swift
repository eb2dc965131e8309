import Foundation
import Currents
import MParticle
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct EventMapperTests {
    static let allFeeds = Set(Feed.allCases)

    func mapper(feeds: Set<Feed> = allFeeds, apps: [String: Feed] = [:], identity: String = "customerid",
                include: [String] = ["*"], exclude: [String] = []) -> EventMapper {
        EventMapper(environment: .production, identityKey: identity, router: FeedRouter(configuredFeeds: feeds, apps: apps),
                    selection: EventSelection(include: include, exclude: exclude))
    }

    func event(_ type: String, _ fields: [String: JSONValue]) -> CurrentsEvent {
        var all = fields
        all["id"] = .string("e-1")
        all["time"] = .int(1_700_000_000)
        all["user_id"] = .string("braze-user")
        all["timezone"] = .string("UTC")
        return CurrentsEvent(eventType: type, id: "e-1", time: 1_700_000_000, fields: all)
    }

    @Test func pushSendIsMappedLikeBrazesExport() throws {
        let push = event("users.messages.pushnotification.Send", [
            "external_user_id": "u-1", "platform": "ios", "device_id": "dev-1", "device_model": "iPhone15,3",
            "os_version": "iOS 17", "ad_id": "ad-1", "ad_id_type": "ios_idfa", "ad_tracking_enabled": .bool(false),
            "app_id": "app-1", "campaign_id": "c-1", "send_id": "s-1",
        ])
        let mapped = try mapper().map(push).get()
        #expect(mapped.feed == .ios)
        #expect(mapped.payload.eventType == "custom_event")
        #expect(mapped.payload.eventName == "Push Notification Sends")
        #expect(mapped.payload.customEventType == "other")
        #expect(mapped.payload.timestampMs == 1_700_000_000_000)
        #expect(mapped.payload.sourceMessageID == "e-1")
        #expect(mapped.header.userIdentities == ["customerid": .string("u-1")])
        // DI7: DI8 without device_model.
        #expect(mapped.header.deviceInfo == [
            "ios_idfv": .string("dev-1"), "platform": .string("iOS"), "ios_advertising_id": .string("ad-1"),
            "limit_ad_tracking": .bool(true),
        ])
        let attributes = mapped.payload.customAttributes
        #expect(attributes["source_request_id"] == .string("e-1"))
        #expect(attributes["device_id"] == .string("dev-1"))
        #expect(attributes["device_model"] == .string("iPhone15,3"))
        #expect(attributes["campaign_id"] == .string("c-1"))
        #expect(attributes["app_id"] == .string("app-1"))
        for never in ["id", "time", "user_id", "external_user_id", "timezone", "os_version", "platform", "ad_id", "ad_id_type", "ad_tracking_enabled"] {
            #expect(attributes[never] == nil, "\(never) must not be a custom attribute")
        }
    }

    @Test func emailSendCarriesTheEmailIdentity() throws {
        let email = event("users.messages.email.Send", [
            "external_user_id": "u-2", "email_address": "a@example.com", "esp": "sendgrid",
            "nested": .object(["x": .int(1)]), "list": .array([.int(1)]),
        ])
        let mapped = try mapper().map(email).get()
        #expect(mapped.feed == .unbound)
        #expect(mapped.payload.eventName == "Email Sends")
        #expect(mapped.header.userIdentities == ["customerid": .string("u-2"), "email": .string("a@example.com")])
        #expect(mapped.header.deviceInfo.isEmpty)
        #expect(mapped.payload.customAttributes["email_address"] == nil)
        #expect(mapped.payload.customAttributes["esp"] == .string("sendgrid"))
        #expect(mapped.payload.customAttributes["nested"] == nil)
        #expect(mapped.payload.customAttributes["list"] == nil)
    }

    @Test func smsMovesThePhoneToMobile() throws {
        let sms = event("users.messages.sms.Delivery", ["external_user_id": "u", "to_phone_number": "+15551234567"])
        let mapped = try mapper().map(sms).get()
        #expect(mapped.header.userAttributes == ["$mobile": .string("+15551234567")])
        #expect(mapped.payload.customAttributes["to_phone_number"] == nil)
    }

    @Test func uninstallHasNoName() throws {
        let mapped = try mapper(apps: ["app-9": .android]).map(event("users.behaviors.Uninstall", ["external_user_id": "u", "app_id": "app-9"])).get()
        #expect(mapped.payload.eventType == "uninstall")
        #expect(mapped.payload.eventName == nil)
        #expect(mapped.payload.customEventType == nil)
        #expect(mapped.feed == .android)
    }

    @Test func routingFollowsPlatformThenAppsThenUnbound() {
        let m = mapper(apps: ["web-app": .web])
        func feed(_ fields: [String: JSONValue]) -> Feed? {
            var all = fields
            all["external_user_id"] = "u"
            return try? m.map(event("users.messages.inappmessage.Click", all)).get().feed
        }
        #expect(feed(["platform": "android"]) == .android)
        #expect(feed(["platform": "kindle"]) == .android)
        #expect(feed(["platform": "tvos"]) == .ios)
        #expect(feed(["platform": "web"]) == .web)
        #expect(feed(["platform": "roku"]) == .unbound)
        #expect(feed(["app_id": "web-app"]) == .web)
        #expect(feed(["app_id": "other"]) == .unbound)
    }

    @Test func aPlatformFeedWithoutCredentialsFallsBackToUnbound() {
        let onlyUnbound = mapper(feeds: [.unbound])
        let push = event("users.messages.pushnotification.Send", ["external_user_id": "u", "platform": "ios"])
        #expect((try? onlyUnbound.map(push).get().feed) == .unbound)
        let onlyAndroid = mapper(feeds: [.android])
        #expect(throws: SkipReason.noFeed) { try onlyAndroid.map(push).get() }
    }

    @Test func skipReasons() {
        let m = mapper(exclude: ["users.messages.email.*"])
        #expect(throws: SkipReason.noExternalUserID) { try m.map(event("users.canvas.Entry", [:])).get() }
        #expect(throws: SkipReason.noExternalUserID) { try m.map(event("users.canvas.Entry", ["external_user_id": ""])).get() }
        #expect(throws: SkipReason.unsupportedEventType) { try m.map(event("users.messages.carrierpigeon.Send", ["external_user_id": "u"])).get() }
        #expect(throws: SkipReason.notSelected) { try m.map(event("users.messages.email.Open", ["external_user_id": "u"])).get() }
    }

    @Test func theIdentityKeyIsConfigurable() throws {
        let mapped = try mapper(identity: "other_id_2").map(event("users.canvas.Entry", ["external_user_id": "u"])).get()
        #expect(mapped.header.userIdentities == ["other_id_2": .string("u")])
    }

    @Test func theCatalogueHasFiftyTypes() {
        #expect(MappingTable.entries.count == 50)
        #expect(MappingTable.mapping(for: "users.messages.email.Send")?.emailIdentity == true)
    }

    /// Both keys in one record: the renamed `content_card_id` is the card id, every time (it
    /// used to depend on the dictionary's iteration order).
    @Test func contentCardIDWinsOverARecordsOwnCardID() throws {
        for _ in 0..<50 {
            let mapped = try mapper().map(event("users.messages.contentcard.Send", [
                "external_user_id": .string("u"), "content_card_id": .string("renamed"), "card_id": .string("own"),
            ])).get()
            #expect(mapped.payload.customAttributes["card_id"] == .string("renamed"))
            #expect(mapped.payload.customAttributes["content_card_id"] == nil)
        }
        // A content_card_id that is not a scalar is dropped, and the record's card_id stays.
        let kept = try mapper().map(event("users.messages.contentcard.Send", [
            "external_user_id": .string("u"), "content_card_id": .array([]), "card_id": .string("own"),
        ])).get()
        #expect(kept.payload.customAttributes["card_id"] == .string("own"))
    }

    @Test func globs() {
        #expect(EventSelection.matches("users.messages.email.Send", "users.messages.email.*"))
        #expect(EventSelection.matches("users.messages.email.Send", "*"))
        #expect(EventSelection.matches("users.messages.email.Send", "users.*.Send"))
        #expect(!EventSelection.matches("users.messages.sms.Send", "users.messages.email.*"))
        #expect(EventSelection.matches("a", "?"))
        #expect(!EventSelection.matches("ab", "?"))
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

@Suite(.timeLimit(.minutes(10))) struct MapperLimitsTests {
    let mapper = EventMapper(environment: .production, identityKey: "customerid",
                             router: FeedRouter(configuredFeeds: [.unbound], apps: [:]), selection: EventSelection())

    /// Names that collide once cut to 256 characters: the same winner every time (the fuzzer
    /// found the outcome depended on dictionary order).
    @Test func namesThatCollideWhenCutHaveOneWinnerEveryTime() throws {
        let exact = String(repeating: "c", count: 256)
        for _ in 0..<50 {
            let mapped = try mapper.map(CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: [
                "external_user_id": .string("u"), exact + "b": .string("second"), exact + "a": .string("first"),
                String(repeating: "d", count: 256) + "z": .int(1), String(repeating: "d", count: 256): .int(2),
            ])).get()
            #expect(mapped.payload.customAttributes[exact] == .string("first"))
            #expect(mapped.payload.customAttributes[String(repeating: "d", count: 256)] == .int(2), "a name spelled out wins")
            #expect(mapped.truncations == AttributeTruncations(nameLength: 3))
        }
    }

    @Test func longNamesAndValuesAreTruncatedAndCounted() throws {
        let longName = String(repeating: "n", count: 300)
        let longValue = String(repeating: "v", count: 5000)
        let event = CurrentsEvent(eventType: "users.canvas.Entry", id: "t", time: 1, fields: [
            "external_user_id": .string("u"), longName: .string("x"), "long_value": .string(longValue), "short": .string("ok"),
        ])
        let mapped = try mapper.map(event).get()
        #expect(mapped.truncations == AttributeTruncations(nameLength: 1, valueLength: 1))
        #expect(mapped.payload.customAttributes[String(repeating: "n", count: 256)] == .string("x"))
        #expect(mapped.payload.customAttributes["long_value"] == .string(String(repeating: "v", count: 4096)))
        #expect(mapped.payload.customAttributes["short"] == .string("ok"))
    }

    @Test func unknownTypesAreSkippedOrSentWithAGenericName() throws {
        let event = CurrentsEvent(eventType: "users.messages.hologram.Send", id: "h", time: 1, fields: ["external_user_id": .string("u"), "device_id": .string("d")])
        #expect(throws: SkipReason.unsupportedEventType) { try mapper.map(event).get() }
        var sending = mapper
        sending.unknownTypes = .send
        let mapped = try sending.map(event).get()
        #expect(mapped.payload.eventName == "users.messages.hologram.Send")
        #expect(mapped.payload.customEventType == "other")
        #expect(mapped.header.deviceInfo == ["ios_idfv": .string("d")])
        // Selection still applies to them.
        sending.selection = EventSelection(exclude: ["users.messages.hologram.*"])
        #expect(throws: SkipReason.notSelected) { try sending.map(event).get() }
    }

    @Test func everySampleTypeMapsAndEncodesToValidJSON() throws {
        let decoder = CurrentsDecoder()
        let all = EventMapper(environment: .production, identityKey: "customerid",
                              router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: [:]), selection: EventSelection())
        let records = SampleEvents(seed: 5, anonymousPercent: 0).records(count: SampleEvents.allTypes.count)
        #expect(Set(records.map(\.eventType)) == Set(SampleEvents.allTypes))
        #expect(Set(SampleEvents.allTypes) == Set(MappingTable.entries.keys))
        for record in records {
            let event = try decoder.decode(value: record.value, eventTypeHeader: nil, topic: "t").get()[0].get()
            let mapped = try all.map(event).get()
            var writer = JSONWriter()
            EncodedBatch(header: mapped.header.encoded(), events: [mapped.payload.encoded()]).write(into: &writer)
            let batch = try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any]
            #expect(batch?["events"] != nil, "\(record.eventType)")
        }
    }
}
