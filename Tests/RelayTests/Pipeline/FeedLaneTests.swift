import MParticle
import Testing
@testable import Relay

/// A feed's lane keeps regular and historical events apart and, when the feed can send, offers
/// the pool whose oldest batch has waited longer.
@Suite(.timeLimit(.minutes(10))) struct FeedLaneTests {
    func unit(_ offset: Int64, ageBaseMs: Int64 = 0) -> EventUnit {
        EventUnit(ack: RecordAck(slot: 0, epoch: 1, offset: offset), ageBaseMs: ageBaseMs, eventID: "e\(offset)")
    }
    func header(_ user: String) -> [UInt8] {
        BatchHeader(environment: .production, userIdentities: ["customerid": .string(user)]).encoded()
    }
    func event(_ id: String) -> [UInt8] {
        EventPayload(eventType: "custom_event", eventName: "Email Sends", customEventType: "other", timestampMs: 1, sourceMessageID: id,
                     customAttributes: [:]).encoded()
    }
    func add(_ lane: inout FeedLane, user: String, offset: Int64, historical: Bool, now: UInt64, ageBaseMs: Int64 = 0) {
        let sealed = lane.add(header: header(user), headerHash: nil, event: event("e\(offset)"), unit: unit(offset, ageBaseMs: ageBaseMs),
                              historical: historical, now: now)
        #expect(sealed == nil, "nothing is sealed below the pool's limit")
    }

    @Test func theOlderPoolIsOfferedFirstAndEachRequestKeepsItsEndpoint() {
        var lane = FeedLane(feed: .ios, maxOpenBatches: 100)
        #expect(lane.batchersAreEmpty)
        add(&lane, user: "a", offset: 1, historical: false, now: 2_000)
        add(&lane, user: "b", offset: 2, historical: true, now: 1_000)
        #expect(!lane.batchersAreEmpty)
        #expect(lane.takeLingeredRequest(now: 2_500, linger: 1_000) != nil, "the historical batch has waited 1,500 ns")
        #expect(lane.historical.isEmpty && !lane.regular.isEmpty, "the historical pool, whose batch is older, went first")
        #expect(lane.takeLingeredRequest(now: 2_500, linger: 1_000) == nil, "the regular batch has waited 500 ns only")
        let regular = lane.takeLingeredRequest(now: 3_000, linger: 1_000)
        #expect(regular?.historical == false && regular?.units.map(\.ack.offset) == [1])
        #expect(lane.batchersAreEmpty)
    }

    @Test func expiredAndMatchingEventsAreTakenFromBothPools() {
        var lane = FeedLane(feed: .android, maxOpenBatches: 100)
        add(&lane, user: "a", offset: 1, historical: false, now: 1, ageBaseMs: 10)
        add(&lane, user: "b", offset: 2, historical: true, now: 1, ageBaseMs: 10)
        add(&lane, user: "c", offset: 3, historical: false, now: 1, ageBaseMs: 99)
        let expired = lane.takeExpired(before: 50)
        #expect(expired.map(\.historical) == [false, true])
        #expect(expired.flatMap { $0.units.map(\.ack.offset) } == [1, 2])
        lane.removeEvents { $0.ack.offset == 3 }
        #expect(lane.batchersAreEmpty)
    }

    @Test func flushingTakesBothPoolsAsRequests() {
        var lane = FeedLane(feed: .web, maxOpenBatches: 100)
        add(&lane, user: "a", offset: 1, historical: true, now: 1)
        add(&lane, user: "b", offset: 2, historical: false, now: 1)
        let requests = lane.takeAll()
        #expect(requests.map(\.historical) == [false, true], "regular, then historical")
        #expect(lane.batchersAreEmpty)
    }
}
