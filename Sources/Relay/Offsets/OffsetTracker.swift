import DequeModule
import Kafka

/// Per partition, the records taken but not yet settled, and the commit watermark: one past the
/// highest offset below which every record is settled (invariant 1 of DESIGN.md).
///
/// Records are added in offset order (gaps are fine: compaction, transactions) and settled in any
/// order. A record may carry several events; it settles when all of them have.
///
/// Everything an event's settle touches is found by index: the partition's state by the ack's
/// slot, the entry by its distance from the first offset (binary search below a gap), and the
/// kept record in the entry itself.
/// Dictionaries keyed by partition or by (epoch, offset) cost a hash per event and were a
/// measurable share of the pipeline actor's time.
public struct OffsetTracker: Sendable {
    struct Entry {
        var offset: Int64
        var remaining: Int32
        var bytes: Int32
        /// The record's timestamp (`Int64.min`: none). The record itself is not kept: a failed
        /// event's record is read again from Kafka to be parked (`RecordLocation`), and the
        /// timestamp checks that what is read is the record that was taken. The entry is 24 bytes.
        var timestampMs: Int64
    }

    struct PartitionState {
        var topicPartition: TopicPartition
        var epoch: UInt64
        var entries: Deque<Entry> = []
        /// One past the highest offset added.
        var next: Int64?
        /// The last watermark reported.
        var reported: Int64?
        /// In `moved` (its watermark changed since the moved watermarks were last taken).
        var moved = false
        /// Entries with events left to settle.
        var unsettled = 0
    }

    /// A partition's entries are compacted (settled ones behind an unsettled one dropped) once
    /// there are this many and at least twice as many as unsettled ones.
    ///
    /// A record that waits (in a feed's pool, or on a blocked feed) holds its partition's
    /// watermark, and every record read behind it kept an entry until it settled: on the bench
    /// (1M events, 100,000 in flight) the tracker peaked at ~1M entries, 24 MB, a sixth of the
    /// heap. A settled entry says nothing the watermark needs (the first unsettled entry's offset
    /// is the watermark either way), so only unsettled ones are kept past this point; the cost is
    /// a binary search, rather than a direct index, to find a record of that partition.
    static let compactionThreshold = 1_024

    /// Partition states by slot; a revoked partition's slot is empty until a new life reuses it.
    private var states: [PartitionState?] = []
    private var freeStates: [Int32] = []
    private var slots: [TopicPartition: Int32] = [:]
    /// The slot `add` found last: records come in runs of one partition.
    private var lastAdded: (topicPartition: TopicPartition, slot: Int32)?

    /// Slots whose watermark changed since `takeMovedWatermarks`.
    private var moved: [Int32] = []

    private var nextEpoch: UInt64 = 1
    /// Records added and not yet settled, over all partitions.
    public private(set) var pendingRecords = 0
    /// Bytes of the records counted in `pendingRecords`, for the in-flight byte cap.
    public private(set) var pendingBytes = 0

    public init() {}

    /// Starts tracking a record of `events` events. A record with no events is settled at once.
    public mutating func add(_ topicPartition: TopicPartition, offset: Int64, events: Int = 1, bytes: Int = 0, timestampMs: Int64? = nil) -> RecordAck {
        var slot = self.slot(of: topicPartition)
        if let found = slot, let next = states[Int(found)]!.next, offset < next {
            // The consumer went back (offset reset or re-fetch): start this partition's life anew.
            release(found)
            slot = nil
        }
        let index = slot ?? newState(topicPartition)
        let count = Int32(clamping: max(events, 0))
        // A Kafka record is far below 2 GiB; clamped, the counts stay consistent regardless.
        let size = Int32(clamping: bytes)
        if count > 0 {
            pendingRecords += 1
            pendingBytes += Int(size)
            states[Int(index)]!.unsettled += 1
        }
        let held = states[Int(index)]!.entries.count
        if held >= Self.compactionThreshold && held >= 2 * states[Int(index)]!.unsettled {
            states[Int(index)]!.entries = Deque(states[Int(index)]!.entries.filter { $0.remaining > 0 })
        }
        states[Int(index)]!.entries.append(Entry(offset: offset, remaining: count, bytes: size, timestampMs: timestampMs ?? .min))
        states[Int(index)]!.next = offset + 1
        return RecordAck(slot: index, epoch: states[Int(index)]!.epoch, offset: offset)
    }

    /// Settles `count` events of a record. Returns the new watermark of its partition when it moved.
    public mutating func settle(_ ack: RecordAck, count: Int = 1) -> Int64? {
        guard let slot = live(ack), let entry = Self.index(of: ack.offset, in: states[slot]!.entries) else { return nil }
        let remaining = states[slot]!.entries[entry].remaining
        guard remaining > 0 else { return nil }
        let left = remaining - Int32(clamping: min(max(count, 0), Int(remaining)))
        states[slot]!.entries[entry].remaining = left
        if left == 0 {
            pendingRecords -= 1
            pendingBytes -= Int(states[slot]!.entries[entry].bytes)
            states[slot]!.unsettled -= 1
        }
        return advance(slot: slot)
    }

    /// Pops settled records from the front; returns the watermark if it changed since last reported.
    public mutating func advance(_ topicPartition: TopicPartition) -> Int64? {
        guard let slot = slots[topicPartition] else { return nil }
        return advance(slot: Int(slot))
    }

    /// `advance` for the partition of a record just added.
    public mutating func advance(_ ack: RecordAck) -> Int64? {
        guard let slot = live(ack) else { return nil }
        return advance(slot: slot)
    }

    private mutating func advance(slot: Int) -> Int64? {
        guard let watermark = Self.advance(&states[slot]!) else { return nil }
        if !states[slot]!.moved {
            states[slot]!.moved = true
            moved.append(Int32(slot))
        }
        return watermark
    }

    private static func advance(_ state: inout PartitionState) -> Int64? {
        if state.entries.first?.remaining == 0 {
            repeat { state.entries.removeFirst() } while state.entries.first?.remaining == 0
            // A partition read in a burst grows its storage to the burst; once all of it settled,
            // the storage goes back (a Deque keeps its capacity otherwise, for each partition).
            if state.entries.isEmpty { state.entries = [] }
        }
        guard let watermark = state.entries.first?.offset ?? state.next, watermark != state.reported else { return nil }
        state.reported = watermark
        return watermark
    }

    /// The watermarks reported (by `settle` and `advance`) since this was last called, one per
    /// partition still tracked: what to store as the partitions' next offsets.
    public mutating func takeMovedWatermarks() -> [TopicPartition: Int64] {
        guard !moved.isEmpty else { return [:] }
        var watermarks: [TopicPartition: Int64] = [:]
        for slot in moved {
            guard states[Int(slot)]?.moved == true else { continue }
            states[Int(slot)]!.moved = false
            if let watermark = states[Int(slot)]!.reported { watermarks[states[Int(slot)]!.topicPartition] = watermark }
        }
        moved.removeAll(keepingCapacity: true)
        return watermarks
    }

    /// The current watermark of a partition, if any record was seen.
    public func watermark(_ topicPartition: TopicPartition) -> Int64? {
        guard let slot = slots[topicPartition], let state = states[Int(slot)] else { return nil }
        return state.entries.first(where: { $0.remaining > 0 })?.offset ?? state.next
    }

    /// Events of this record not yet settled (0 when settled or no longer tracked).
    public func remaining(_ ack: RecordAck) -> Int {
        guard let slot = live(ack), let index = Self.index(of: ack.offset, in: states[slot]!.entries) else { return 0 }
        return Int(states[slot]!.entries[index].remaining)
    }

    /// Where the record of `ack` is in Kafka, while any of its events is unsettled (nil once it
    /// settled, or when its partition was revoked: there is nothing to park then).
    public func location(_ ack: RecordAck) -> RecordLocation? {
        guard let slot = live(ack), let index = Self.index(of: ack.offset, in: states[slot]!.entries) else { return nil }
        let entry = states[slot]!.entries[index]
        guard entry.remaining > 0 else { return nil }
        return RecordLocation(topicPartition: states[slot]!.topicPartition, offset: entry.offset,
                              timestampMs: entry.timestampMs == .min ? nil : entry.timestampMs)
    }

    /// Where `topicPartition`'s records are kept now (`RecordAck.slot`), if it has any state.
    public func slot(for topicPartition: TopicPartition) -> Int32? { slots[topicPartition] }

    /// Unsettled records of one partition.
    public func pending(_ topicPartition: TopicPartition) -> Int {
        guard let slot = slots[topicPartition] else { return 0 }
        return states[Int(slot)]?.unsettled ?? 0
    }

    /// Entries a partition holds, settled or not (tests: compaction bounds them).
    func entryCount(_ topicPartition: TopicPartition) -> Int {
        guard let slot = slots[topicPartition] else { return 0 }
        return states[Int(slot)]?.entries.count ?? 0
    }

    /// Forgets a partition (revoked or lost). Later settles for it are ignored.
    public mutating func revoke(_ topicPartition: TopicPartition) {
        if let slot = slots[topicPartition] { release(slot) }
    }

    // MARK: - Slots

    private mutating func slot(of topicPartition: TopicPartition) -> Int32? {
        if let last = lastAdded, last.topicPartition.partition == topicPartition.partition, last.topicPartition.topic == topicPartition.topic {
            return last.slot
        }
        guard let slot = slots[topicPartition] else { return nil }
        lastAdded = (topicPartition, slot)
        return slot
    }

    /// The slot of the ack's partition life, if it is still the current one.
    private func live(_ ack: RecordAck) -> Int? {
        let slot = Int(ack.slot)
        guard slot >= 0, slot < states.count, let epoch = states[slot]?.epoch, epoch == ack.epoch else { return nil }
        return slot
    }

    private mutating func newState(_ topicPartition: TopicPartition) -> Int32 {
        let state = PartitionState(topicPartition: topicPartition, epoch: nextEpoch)
        nextEpoch += 1
        let slot: Int32
        if let free = freeStates.popLast() {
            slot = free
            states[Int(slot)] = state
        } else {
            slot = Int32(states.count)
            states.append(state)
        }
        slots[topicPartition] = slot
        lastAdded = (topicPartition, slot)
        return slot
    }

    /// Ends a partition life: its unsettled records are no longer pending, and its slot is free.
    private mutating func release(_ slot: Int32) {
        guard let state = states[Int(slot)] else { return }
        states[Int(slot)] = nil
        freeStates.append(slot)
        slots[state.topicPartition] = nil
        if lastAdded?.slot == slot { lastAdded = nil }
        for entry in state.entries where entry.remaining > 0 {
            pendingRecords -= 1
            pendingBytes -= Int(entry.bytes)
        }
    }

    /// The entry of `offset`. Offsets in `entries` strictly increase, so the entry is at most
    /// `offset - first` places in, and exactly there when the partition has no gaps (the usual
    /// case): that place is tried first. Binary search over tens of thousands of unsettled
    /// records took a cache miss per probe, for every event settled; it now runs only below a gap.
    private static func index(of offset: Int64, in entries: Deque<Entry>) -> Int? {
        guard let first = entries.first?.offset, offset >= first else { return nil }
        let distance = offset - first
        if distance < Int64(entries.count), entries[Int(distance)].offset == offset { return Int(distance) }
        var low = 0
        var high = Int(min(distance, Int64(entries.count - 1)))
        while low <= high {
            let middle = (low + high) / 2
            let value = entries[middle].offset
            if value == offset { return middle }
            if value < offset { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }
}
