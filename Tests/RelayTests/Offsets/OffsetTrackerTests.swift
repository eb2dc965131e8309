import Currents
import Kafka
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct OffsetTrackerTests {
    let p0 = TopicPartition("t", 0)
    let p1 = TopicPartition("t", 1)

    @Test func watermarkWaitsForTheLowestUnsettledOffset() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 10)
        let b = tracker.add(p0, offset: 11)
        let c = tracker.add(p0, offset: 12)
        #expect(tracker.watermark(p0) == 10)
        // Settling out of order does not move the watermark past an unsettled record.
        #expect(tracker.settle(c) == 10)
        #expect(tracker.settle(b) == nil)
        #expect(tracker.watermark(p0) == 10)
        #expect(tracker.settle(a) == 13)
        #expect(tracker.pendingRecords == 0)
    }

    @Test func gapsInOffsetsAreFine() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 5)
        let b = tracker.add(p0, offset: 9)  // 6...8 compacted away
        #expect(tracker.settle(b) == 5)
        #expect(tracker.settle(a) == 10)
    }

    @Test func aRecordOfSeveralEventsSettlesWhenAllHave() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0, events: 3)
        #expect(tracker.settle(a) == 0)
        #expect(tracker.settle(a, count: 1) == nil)
        #expect(tracker.pendingRecords == 1)
        #expect(tracker.settle(a) == 1)
        #expect(tracker.pendingRecords == 0)
    }

    @Test func aRecordWithNoEventsIsSettledOnArrival() {
        var tracker = OffsetTracker()
        _ = tracker.add(p0, offset: 0, events: 0)
        #expect(tracker.advance(p0) == 1)
        let b = tracker.add(p0, offset: 1)
        _ = tracker.add(p0, offset: 2, events: 0)
        #expect(tracker.advance(p0) == nil)  // still 1: offset 1 is unsettled
        #expect(tracker.settle(b) == 3)
    }

    @Test func partitionsAreIndependent() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0)
        let b = tracker.add(p1, offset: 100)
        #expect(tracker.settle(b) == 101)
        #expect(tracker.watermark(p0) == 0)
        #expect(tracker.settle(a) == 1)
    }

    @Test func theRecordsLocationIsKnownUntilItsLastEventSettles() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0, events: 2, timestampMs: 1_700)
        let b = tracker.add(p0, offset: 1)
        let empty = tracker.add(p0, offset: 2, events: 0, timestampMs: 5)
        #expect(tracker.location(empty) == nil) // settled at once: nothing to park
        #expect(tracker.location(b) == RecordLocation(topicPartition: p0, offset: 1, timestampMs: nil))
        #expect(tracker.settle(b) == 0)
        #expect(tracker.location(b) == nil)
        #expect(tracker.settle(a) == nil)
        // One event of two is still unsettled: the record can still be parked.
        #expect(tracker.location(a) == RecordLocation(topicPartition: p0, offset: 0, timestampMs: 1_700))
        #expect(tracker.settle(a) == 3)
        #expect(tracker.location(a) == nil)
        let c = tracker.add(p1, offset: 7)
        #expect(tracker.location(c) != nil)
        tracker.revoke(p1)
        #expect(tracker.location(c) == nil)
        #expect(tracker.settle(c) == nil)
        #expect(tracker.pendingRecords == 0 && tracker.pendingBytes == 0)
    }

    @Test func settlesForARevokedPartitionAreIgnored() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0)
        _ = tracker.add(p0, offset: 1)
        tracker.revoke(p0)
        #expect(tracker.pendingRecords == 0)
        #expect(tracker.settle(a) == nil)
        #expect(tracker.watermark(p0) == nil)
        // Re-assigned later: a new life; the old acknowledgement still does nothing.
        let again = tracker.add(p0, offset: 0)
        #expect(again.epoch != a.epoch)
        #expect(tracker.settle(a) == nil)
        #expect(tracker.watermark(p0) == 0)
        #expect(tracker.settle(again) == 1)
    }

    @Test func aRewindStartsThePartitionAnew() {
        var tracker = OffsetTracker()
        let old = tracker.add(p0, offset: 50)
        let rewound = tracker.add(p0, offset: 40)
        #expect(tracker.pendingRecords == 1)
        #expect(tracker.settle(old) == nil)
        #expect(tracker.settle(rewound) == 41)
    }

    @Test func settlingTwiceCountsOnce() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0)
        _ = tracker.add(p0, offset: 1)
        #expect(tracker.settle(a) == 1)
        #expect(tracker.settle(a) == nil)
        #expect(tracker.pendingRecords == 1)
    }

    @Test func manyRandomSettleOrdersAlwaysEndAtOnePastTheLast() {
        var generator = SplitMix64.reproducible("\(#function)")
        for _ in 0..<50 {
            var tracker = OffsetTracker()
            var acks = (0..<200).map { tracker.add(p0, offset: Int64($0 * 2)) }
            acks.shuffle(using: &generator)
            var settled = Set<Int64>()
            for ack in acks {
                let watermark = tracker.settle(ack)
                settled.insert(ack.offset)
                // The watermark never passes an unsettled offset.
                let expected = (0..<200).map { Int64($0 * 2) }.first { !settled.contains($0) } ?? 399
                #expect(tracker.watermark(p0) == expected)
                if let watermark { #expect(watermark == expected) }
            }
        }
    }

    /// A record is found by its offset whether its partition has gaps or not (runs of offsets
    /// and gaps of random lengths); an offset the tracker does not hold (in a gap, before the
    /// first, after the last) settles nothing.
    @Test func everyOffsetIsFoundWithOrWithoutGapsAndNoOtherIs() {
        var generator = SplitMix64.reproducible("\(#function)")
        for round in 0..<40 {
            var tracker = OffsetTracker()
            var offsets: [Int64] = []
            var next = Int64.random(in: 0...1_000, using: &generator)
            while offsets.count < 300 {
                // No gaps at all in the first rounds; then runs broken by gaps of 1 to 40.
                if round >= 10, Int.random(in: 0..<8, using: &generator) == 0 { next += Int64.random(in: 1...40, using: &generator) }
                offsets.append(next)
                next += 1
            }
            var acks = offsets.map { tracker.add(p0, offset: $0) }
            let held = Set(offsets)
            let template = acks[0]
            for offset in (offsets[0] - 3)...(next + 3) where !held.contains(offset) {
                let stranger = RecordAck(slot: template.slot, epoch: template.epoch, offset: offset)
                #expect(tracker.remaining(stranger) == 0 && tracker.settle(stranger) == nil, "offset \(offset)")
            }
            #expect(tracker.pendingRecords == offsets.count)
            acks.shuffle(using: &generator)
            var settled = Set<Int64>()
            for ack in acks {
                #expect(tracker.remaining(ack) == 1)
                _ = tracker.settle(ack)
                settled.insert(ack.offset)
                #expect(tracker.remaining(ack) == 0)
                #expect(tracker.watermark(p0) == (offsets.first { !settled.contains($0) } ?? next))
            }
            #expect(tracker.pendingRecords == 0)
        }
    }

    @Test func movedWatermarksAreTakenOncePerPartition() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0)
        let b = tracker.add(p0, offset: 1)
        let c = tracker.add(p1, offset: 100)
        #expect(tracker.takeMovedWatermarks().isEmpty)
        #expect(tracker.settle(a) == 1)
        #expect(tracker.settle(b) == 2)
        #expect(tracker.settle(c) == 101)
        // The latest watermark of each partition, once.
        #expect(tracker.takeMovedWatermarks() == [p0: 2, p1: 101])
        #expect(tracker.takeMovedWatermarks().isEmpty)
        // A record with no events moves the watermark through advance.
        #expect(tracker.advance(tracker.add(p0, offset: 2, events: 0)) == 3)
        #expect(tracker.takeMovedWatermarks() == [p0: 3])
    }

    @Test func aRevokedPartitionsMovedWatermarkIsNotTaken() {
        var tracker = OffsetTracker()
        let a = tracker.add(p0, offset: 0)
        _ = tracker.add(p0, offset: 1)
        #expect(tracker.settle(a) == 1)
        tracker.revoke(p0)
        #expect(tracker.takeMovedWatermarks().isEmpty)
    }

    @Test func aRewindDropsTheOldLifesUntakenWatermark() {
        var tracker = OffsetTracker()
        let old = tracker.add(p0, offset: 50)
        #expect(tracker.settle(old) == 51)
        // The consumer goes back before the watermark was stored: 51 belongs to the old life, and
        // storing it would commit past records the new life has not settled.
        let rewound = tracker.add(p0, offset: 40)
        #expect(tracker.takeMovedWatermarks().isEmpty)
        #expect(tracker.settle(rewound) == 41)
        #expect(tracker.takeMovedWatermarks() == [p0: 41])
    }

    @Test func aFreedSlotServesANewLifeAndOldAcksStayInert() {
        var tracker = OffsetTracker()
        let old = tracker.add(p0, offset: 0, timestampMs: 1)
        tracker.revoke(p0)
        // p1 takes the freed slot; the ack from p0's life must not touch it.
        let fresh = tracker.add(p1, offset: 0, timestampMs: 2)
        #expect(fresh.slot == old.slot && fresh.epoch != old.epoch)
        #expect(tracker.settle(old) == nil)
        #expect(tracker.location(old) == nil)
        #expect(tracker.remaining(fresh) == 1)
        #expect(tracker.location(fresh) == RecordLocation(topicPartition: p1, offset: 0, timestampMs: 2))
        #expect(tracker.settle(RecordAck(slot: 99, epoch: fresh.epoch, offset: 0)) == nil)
        #expect(tracker.settle(fresh) == 1)
        #expect(tracker.watermark(p0) == nil && tracker.watermark(p1) == 1)
    }

    /// One record that waits holds its partition's watermark; the records settled behind it are
    /// not kept (compaction), and every watermark is still the one a model of the rule gives.
    @Test func recordsSettledBehindAWaitingOneAreNotKeptAndWatermarksStayRight() {
        var tracker = OffsetTracker()
        var generator = SplitMix64(seed: 77)
        var unsettled: [Int64: (ack: RecordAck, left: Int)] = [:]
        var next: Int64 = 0
        var last: Int64?
        func expected() -> Int64 { unsettled.keys.min() ?? next }
        let waiting = tracker.add(p0, offset: 0, events: 1)
        unsettled[0] = (waiting, 1)
        next = 1
        for _ in 0..<20_000 {
            // Gaps (compaction, transactions) and records of several or no events.
            next += Int64(generator.next() % 4 == 0 ? 2 : 1)
            let events = Int(generator.next() % 4)
            let ack = tracker.add(p0, offset: next - 1, events: events)
            if events > 0 { unsettled[next - 1] = (ack, events) }
            if tracker.entryCount(p0) > max(2 * unsettled.count, OffsetTracker.compactionThreshold) + 1 { last = Int64(tracker.entryCount(p0)) }
            // About 50 records in flight besides the waiting one, settled in any order.
            while unsettled.count > 50 {
                let offset = unsettled.keys.filter { $0 != 0 }.randomElement(using: &generator)!
                var entry = unsettled[offset]!
                _ = tracker.settle(entry.ack)
                entry.left -= 1
                unsettled[offset] = entry.left == 0 ? nil : entry
                #expect(tracker.watermark(p0) == expected())
            }
            #expect(tracker.watermark(p0) == expected())
            #expect(tracker.pending(p0) == unsettled.count)
        }
        #expect(last == nil, "entries held past the compaction bound: \(last ?? 0)")
        #expect(tracker.watermark(p0) == 0)
        for (offset, entry) in unsettled where offset != 0 { for _ in 0..<entry.left { _ = tracker.settle(entry.ack) } }
        #expect(tracker.settle(waiting) == next)
        #expect(tracker.pendingRecords == 0 && tracker.pending(p0) == 0)
    }

    @Test func anEntryHoldsNoRecord() {
        // What an unsettled record costs the tracker, whatever its size: its location only.
        #expect(MemoryLayout<OffsetTracker.Entry>.stride == 24)
        var tracker = OffsetTracker()
        let ack = tracker.add(p0, offset: 3, bytes: 900, timestampMs: 42)
        #expect(tracker.pendingBytes == 900)
        _ = tracker.settle(ack)
        #expect(tracker.pendingBytes == 0 && tracker.location(ack) == nil)
    }
}
