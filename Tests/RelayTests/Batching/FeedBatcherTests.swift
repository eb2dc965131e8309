import Foundation
import Kafka
import MParticle
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct FeedBatcherTests {
    func ack(_ offset: Int64) -> EventUnit {
        EventUnit(ack: RecordAck(slot: 0, epoch: 1, offset: offset), ageBaseMs: offset, eventID: "e\(offset)")
    }
    func header(_ user: String) -> [UInt8] {
        BatchHeader(environment: .production, userIdentities: ["customerid": .string(user)]).encoded()
    }
    func event(_ id: String, padding: Int = 0) -> [UInt8] {
        EventPayload(eventType: "custom_event", eventName: "Email Sends", customEventType: "other", timestampMs: 1,
                     sourceMessageID: id, customAttributes: padding > 0 ? ["pad": .string(String(repeating: "x", count: padding))] : [:]).encoded()
    }

    /// The header hash reads every byte (whole words and the tail) and the length: headers one
    /// byte apart, or one byte longer, hash apart; equal bytes hash equal.
    @Test func aHeaderHashCoversEveryByteAndTheLength() {
        for count in [0, 1, 7, 8, 9, 16, 150, 151] {
            let header = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(BatchHeaderTable.hash(of: header) == BatchHeaderTable.hash(of: Array(header)))
            #expect(BatchHeaderTable.hash(of: header) != BatchHeaderTable.hash(of: header + [0]), "length \(count)")
            for position in 0..<count {
                var changed = header
                changed[position] ^= 0x20
                #expect(BatchHeaderTable.hash(of: changed) != BatchHeaderTable.hash(of: header), "length \(count), byte \(position)")
            }
        }
    }

    /// Header equality reads every byte (whole words and the tail) and the length, as `==` does.
    @Test func headerEqualityCoversEveryByteAndTheLength() {
        for count in [0, 1, 7, 8, 9, 16, 150, 151] {
            let header = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(BatchHeaderTable.sameBytes(header, Array(header)))
            #expect(!BatchHeaderTable.sameBytes(header, header + [0]) && !BatchHeaderTable.sameBytes(header + [0], header), "length \(count)")
            for position in 0..<count {
                var changed = header
                changed[position] ^= 0x01
                #expect(!BatchHeaderTable.sameBytes(changed, header), "length \(count), byte \(position)")
            }
        }
    }

    /// Two users whose headers hash alike (forced here) still get a batch each: the hash only
    /// finds candidates, the header's bytes decide.
    @Test func headersWithEqualHashesDoNotShareABatch() throws {
        var batcher = FeedBatcher(feed: .ios)
        for (index, user) in ["a", "b", "a", "b", "c"].enumerated() {
            #expect(batcher.add(header: header(user), headerHash: 42, event: event("\(index)"), unit: ack(Int64(index)), now: 0) == nil)
        }
        let taken = batcher.takeRequest()
        let request = try #require(taken)
        #expect(request.batches.map(\.header) == [header("a"), header("b"), header("c")])
        #expect(request.batches.map(\.events.count) == [2, 2, 1])
        #expect(request.units.map(\.ack.offset) == [0, 2, 1, 3, 4])
        #expect(batcher.isEmpty && batcher.openBatches == 0)
    }

    @Test func eventsOfTheSameUserShareABatch() throws {
        var batcher = FeedBatcher(feed: .ios)
        let first = batcher.add(header: header("a"), event: event("1"), unit: ack(0), now: 0)
        let second = batcher.add(header: header("b"), event: event("2"), unit: ack(1), now: 0)
        let third = batcher.add(header: header("a"), event: event("3"), unit: ack(2), now: 0)
        #expect(first == nil && second == nil && third == nil)
        let taken = batcher.takeRequest()
        let request = try #require(taken)
        #expect(request.batches.count == 2)
        #expect(request.batches[0].events.count == 2)
        #expect(request.eventCount == 3)
        let body = try JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]]
        #expect(body?.count == 2)
        #expect(body?.first?["environment"] as? String == "production")
        #expect(request.byteCount == request.body.count)
    }

    @Test func aRequestHoldsAtMostOneHundredBatches() throws {
        var batcher = FeedBatcher(feed: .web)
        var requests: [BulkRequest] = []
        for index in 0..<250 {
            if let request = batcher.add(header: header("user-\(index)"), event: event("\(index)"), unit: ack(Int64(index)), now: 0) {
                requests.append(request)
            }
        }
        requests += batcher.takeAll()
        #expect(requests.map(\.batches.count) == [100, 100, 50])
        #expect(requests.flatMap(\.acks).map(\.offset) == (0..<250).map(Int64.init))
    }

    @Test func aRequestStaysWithin256KBAndABatchWithin128KB() throws {
        var batcher = FeedBatcher(feed: .unbound)
        var requests: [BulkRequest] = []
        // One user, 20 KB events: batches split at 128 KB, requests at 256 KB.
        for index in 0..<40 {
            if let request = batcher.add(header: header("same"), event: event("\(index)", padding: 20_000), unit: ack(Int64(index)), now: 0) {
                requests.append(request)
            }
        }
        requests += batcher.takeAll()
        #expect(requests.count > 1)
        for request in requests {
            #expect(request.body.count <= EventsAPILimits.maxRequestBytes)
            for batch in request.batches {
                #expect(batch.byteCount <= EventsAPILimits.maxBatchBytes)
                var writer = JSONWriter()
                batch.write(into: &writer)
                #expect(writer.bytes.count == batch.byteCount)
            }
        }
        #expect(requests.reduce(0) { $0 + $1.eventCount } == 40)
    }

    @Test func lingerReleasesTheOpenRequest() {
        var batcher = FeedBatcher(feed: .android)
        _ = batcher.add(header: header("a"), event: event("1"), unit: ack(0), now: 1_000)
        _ = batcher.add(header: header("b"), event: event("2"), unit: ack(1), now: 1_050)
        let early = batcher.takeLingered(now: 1_000 + 99, linger: 100)
        #expect(early.isEmpty)
        // The oldest batch is due: it leaves, with whatever else fits in its request.
        let due = batcher.takeLingered(now: 1_000 + 100, linger: 100)
        #expect(due.map(\.eventCount) == [2])
        #expect(batcher.isEmpty)
        let none = batcher.takeLingered(now: 10_000, linger: 100)
        #expect(none.isEmpty)
    }

    /// A full batch stays in the pool, sealed, while a new one takes its header; sending the
    /// sealed one must leave the newer one open to the user's later events.
    @Test func sendingASealedBatchLeavesTheUsersNewerBatchOpen() throws {
        var batcher = FeedBatcher(feed: .unbound, maxBatches: 1)
        // 30 KB events: four fill a 128 KB batch, the fifth opens a second one.
        for index in 0..<5 {
            #expect(batcher.add(header: header("same"), event: event("\(index)", padding: 30_000), unit: ack(Int64(index)), now: 0) == nil)
        }
        #expect(batcher.openBatches == 2)
        let taken = batcher.takeRequest()
        let first = try #require(taken)
        #expect(first.acks.map(\.offset) == [0, 1, 2, 3])
        #expect(batcher.add(header: header("same"), event: event("5", padding: 30_000), unit: ack(5), now: 0) == nil)
        #expect(batcher.openBatches == 1)
        let next = batcher.takeRequest()
        let second = try #require(next)
        #expect(second.batches.count == 1)
        #expect(second.acks.map(\.offset) == [4, 5])
        #expect(batcher.isEmpty && batcher.pendingEvents == 0)
    }

    /// The 48-hour sweep takes expired events out of open batches (ageBaseMs is the offset
    /// here): the young ones stay, in their batches, and go out as before; a batch left empty
    /// goes in no request, and its user's next event still has a batch to join.
    @Test func expiredEventsLeaveTheirOpenBatchesAndTheYoungStay() throws {
        var batcher = FeedBatcher(feed: .ios)
        // Users a (offsets 0, 10, 1), b (2, 3: both expire), c (20).
        for (user, offset) in [("a", 0), ("a", 10), ("b", 2), ("b", 3), ("c", 20), ("a", 1)] as [(String, Int64)] {
            #expect(batcher.add(header: header(user), event: event("\(offset)"), unit: ack(offset), now: 0) == nil)
        }
        #expect(batcher.takeExpired(before: 0) == nil)
        let taken = batcher.takeExpired(before: 5)
        let expired = try #require(taken)
        #expect(expired.acks.map(\.offset) == [0, 1, 2, 3])
        #expect(expired.batches.map(\.header) == [header("a"), header("b")])
        #expect(expired.batches.map(\.events.count) == [2, 2])
        #expect(batcher.pendingEvents == 2 && !batcher.isEmpty)
        // The pool's byte counts (what the 128 KB and 256 KB limits are checked against) are the
        // bytes of what the batches now hold.
        #expect(batcher.openBatchSizes.filter { !$0.batch.events.isEmpty }.allSatisfy { $0.counted == $0.batch.byteCount })
        #expect(batcher.add(header: header("b"), event: event("30"), unit: ack(30), now: 0) == nil)
        let next = batcher.takeRequest()
        let request = try #require(next)
        #expect(request.acks.map(\.offset) == [10, 30, 20])
        #expect(request.batches.map(\.header) == [header("a"), header("b"), header("c")])
        #expect(batcher.isEmpty && batcher.openBatches == 0 && batcher.takeRequest() == nil)
    }

    /// A revocation takes out the batches that hold a revoked partition's events, whole (with
    /// their other events), oldest first and within the request limits. The other batches stay
    /// open in their order, and a taken batch's user still has a batch to join.
    @Test func batchesHoldingARevokedPartitionsEventsLeaveWholeAndTheRestStay() throws {
        func unit(_ slot: Int32, _ offset: Int64) -> EventUnit {
            EventUnit(ack: RecordAck(slot: slot, epoch: 1, offset: offset), ageBaseMs: 0, eventID: "e\(offset)")
        }
        var batcher = FeedBatcher(feed: .unbound, maxBatches: 2)
        // Users a to e open their batches in that order. Slot 1 is revoked: it has events in the
        // batches of b, c (beside one of slot 0) and e.
        let adds: [(user: String, slot: Int32, offset: Int64)] = [
            ("a", 0, 0), ("b", 1, 0), ("c", 0, 1), ("d", 0, 2), ("c", 1, 1), ("e", 1, 2), ("a", 0, 3),
        ]
        for (user, slot, offset) in adds {
            #expect(batcher.add(header: header(user), event: event("\(user)\(offset)"), unit: unit(slot, offset), now: 0) == nil)
        }
        let taken = batcher.takeBatches { $0.ack.slot == 1 }
        #expect(taken.map { $0.batches.map(\.header) } == [[header("b"), header("c")], [header("e")]])
        #expect(taken.flatMap { $0.units.map { "\($0.ack.slot)/\($0.ack.offset)" } } == ["1/0", "0/1", "1/1", "1/2"])
        #expect(batcher.pendingEvents == 3)
        #expect(batcher.takeBatches { $0.ack.slot == 1 }.isEmpty)
        #expect(batcher.openBatchSizes.filter { !$0.batch.events.isEmpty }.allSatisfy { $0.counted == $0.batch.byteCount })
        // c's next event joins c's old place; a and d stayed open, in their order.
        #expect(batcher.add(header: header("c"), event: event("c9"), unit: unit(0, 9), now: 0) == nil)
        #expect(batcher.openBatchSizes.filter { !$0.batch.events.isEmpty }.allSatisfy { $0.counted == $0.batch.byteCount })
        let rest = batcher.takeAll()
        #expect(rest.flatMap { $0.batches.map(\.header) } == [header("a"), header("c"), header("d")])
        #expect(rest.flatMap { $0.units.map(\.ack.offset) } == [0, 3, 9, 2])
        #expect(batcher.isEmpty && batcher.openBatches == 0)

        // 100 KB batches: two fit a 256 KB request, three do not.
        var large = FeedBatcher(feed: .unbound)
        for index in 0..<3 {
            #expect(large.add(header: header("u\(index)"), event: event("\(index)", padding: 100_000), unit: unit(1, Int64(index)), now: 0) == nil)
        }
        let requests = large.takeBatches { _ in true }
        #expect(requests.map(\.batches.count) == [2, 1])
        #expect(requests.allSatisfy { $0.body.count <= EventsAPILimits.maxRequestBytes })
        #expect(large.isEmpty)
    }

    @Test func thePoolOverflowsIntoFullRequestsAndLaterEventsJoinOpenBatches() {
        var batcher = FeedBatcher(feed: .ios, maxOpenBatches: 300)
        var requests: [BulkRequest] = []
        for index in 0..<3_000 {
            if let request = batcher.add(header: header("user-\(index % 200)"), event: event("\(index)"), unit: ack(Int64(index)), now: 0) {
                requests.append(request)
            }
        }
        requests += batcher.takeAll()
        #expect(requests.reduce(0) { $0 + $1.eventCount } == 3_000)
        #expect(requests.dropLast().allSatisfy { $0.batches.count == 100 })
        let batches = requests.reduce(0) { $0 + $1.batches.count }
        #expect(batches < 3_000 / 2, "\(batches) batches for 3000 events")
    }
}

extension BulkRequest: Equatable {
    public static func == (lhs: BulkRequest, rhs: BulkRequest) -> Bool { lhs.body == rhs.body && lhs.units == rhs.units }
}

@Suite(.timeLimit(.minutes(10))) struct BulkRequestSplitTests {
    func request(_ users: [String]) -> BulkRequest {
        var batcher = FeedBatcher(feed: .web)
        for (index, user) in users.enumerated() {
            let header = BatchHeader(environment: .production, userIdentities: ["customerid": .string(user)]).encoded()
            let event = EventPayload(eventType: "custom_event", eventName: "E", customEventType: "other", timestampMs: 1, sourceMessageID: "\(index)", customAttributes: [:]).encoded()
            _ = batcher.add(header: header, event: event, unit: EventUnit(ack: RecordAck(slot: 0, epoch: 1, offset: Int64(index)), ageBaseMs: Int64(index), eventID: "\(index)"), now: 0)
        }
        return batcher.takeRequest()!
    }

    @Test func halvesKeepEveryEventOnceAndInOrder() throws {
        let whole = request(["a", "a", "b", "c", "c", "c", "d"])
        #expect(whole.batches.count == 4)
        let (first, second) = try #require(whole.halves())
        #expect(first.units + second.units == whole.units)
        #expect(first.eventCount == 3 && second.eventCount == 4)
        // Each half regroups its own events by header.
        #expect(first.batches.map(\.events.count) == [2, 1])
        #expect(second.batches.map(\.events.count) == [3, 1])
        #expect(request(["x"]).halves() == nil)
    }

    @Test func partitioningByAge() {
        let whole = request(["a", "b", "a", "c"])
        let (old, young) = whole.partitioned { $0.ageBaseMs < 2 }
        #expect(old?.units.map(\.eventID).sorted() == ["0", "1"])
        #expect(young?.units.map(\.eventID).sorted() == ["2", "3"])
        let (none, all) = whole.partitioned { _ in false }
        #expect(none == nil)
        #expect(all?.eventCount == 4)
    }
}

extension FeedBatcher {
    /// Every request the batcher would give a feed with free slots at `now` (the pipeline takes
    /// them one at a time, as slots free).
    mutating func takeLingered(now: UInt64, linger: UInt64) -> [BulkRequest] {
        var requests: [BulkRequest] = []
        while let request = takeLingeredRequest(now: now, linger: linger) { requests.append(request) }
        return requests
    }
}
