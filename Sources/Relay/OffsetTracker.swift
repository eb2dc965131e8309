import DequeModule
import Kafka

/// Identifies a record for settling. The epoch changes whenever a partition's tracking restarts
/// (revoke, re-assignment, offset rewind), so late results from an earlier life are ignored.
public struct RecordAck: Hashable, Sendable {
    public var topicPartition: TopicPartition
    public var offset: Int64
    public var epoch: UInt64

    public init(topicPartition: TopicPartition, offset: Int64, epoch: UInt64) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.epoch = epoch
    }
}

/// Per partition, the records taken but not yet settled, and the commit watermark: one past the
/// highest offset below which every record is settled (invariant 1 of DESIGN.md).
///
/// Records are added in offset order (gaps are fine: compaction, transactions) and settled in any
/// order. A record may carry several events; it settles when all of them have.
public struct OffsetTracker: Sendable {
    struct Entry {
        var offset: Int64
        var remaining: Int
        var bytes: Int
    }

    struct PartitionState {
        var epoch: UInt64
        var entries: Deque<Entry> = []
        /// One past the highest offset added.
        var next: Int64?
        /// The last watermark reported.
        var reported: Int64?
    }

    private var partitions: [TopicPartition: PartitionState] = [:]
    /// The records with events still unsettled: a failed event is parked in the dead-letter topic
    /// as the record it came in. One dictionary for all partitions, so its size follows the
    /// unsettled records (the in-flight cap), not how far each partition's entries reach; keyed
    /// by the partition state's epoch and the offset, which hash as two integers (a key holding
    /// the topic name cost two string hashes per record).
    private var messages: [MessageKey: KafkaMessage] = [:]

    struct MessageKey: Hashable {
        var epoch: UInt64
        var offset: Int64
    }
    private var nextEpoch: UInt64 = 1
    /// Records added and not yet settled, over all partitions.
    public private(set) var pendingRecords = 0
    /// Bytes of the records counted in `pendingRecords`, for the in-flight byte cap.
    public private(set) var pendingBytes = 0

    public init() {}

    /// Starts tracking a record of `events` events. A record with no events is settled at once.
    ///
    /// Each operation finds its partition once and changes its state in place
    /// (`partitions.values[index]`): looking the partition up for every field hashed the topic
    /// name ten times per event, and a local copy of the state would share its deque, so the
    /// first change would copy the whole deque.
    public mutating func add(_ topicPartition: TopicPartition, offset: Int64, events: Int = 1, bytes: Int = 0, message: KafkaMessage? = nil) -> RecordAck {
        var found = partitions.index(forKey: topicPartition)
        if let index = found, let next = partitions.values[index].next, offset < next {
            // The consumer went back (offset reset or re-fetch): start this partition's life anew.
            forget(partitions.remove(at: index).value)
            found = nil
        }
        let index: Dictionary<TopicPartition, PartitionState>.Index
        if let found {
            index = found
        } else {
            partitions[topicPartition] = newState()
            index = partitions.index(forKey: topicPartition)!
        }
        if events > 0 {
            pendingRecords += 1
            pendingBytes += bytes
        }
        partitions.values[index].entries.append(Entry(offset: offset, remaining: max(events, 0), bytes: bytes))
        if events > 0, let message { messages[MessageKey(epoch: partitions.values[index].epoch, offset: offset)] = message }
        partitions.values[index].next = offset + 1
        return RecordAck(topicPartition: topicPartition, offset: offset, epoch: partitions.values[index].epoch)
    }

    /// Settles `count` events of a record. Returns the new watermark of its partition when it moved.
    public mutating func settle(_ ack: RecordAck, count: Int = 1) -> Int64? {
        guard let index = partitions.index(forKey: ack.topicPartition), partitions.values[index].epoch == ack.epoch,
              let entry = Self.index(of: ack.offset, in: partitions.values[index].entries) else { return nil }
        let remaining = partitions.values[index].entries[entry].remaining
        guard remaining > 0 else { return nil }
        let left = remaining - min(max(count, 0), remaining)
        partitions.values[index].entries[entry].remaining = left
        if left == 0 {
            pendingRecords -= 1
            pendingBytes -= partitions.values[index].entries[entry].bytes
            messages[MessageKey(epoch: ack.epoch, offset: ack.offset)] = nil
        }
        return Self.advance(&partitions.values[index])
    }

    /// Pops settled records from the front; returns the watermark if it changed since last reported.
    public mutating func advance(_ topicPartition: TopicPartition) -> Int64? {
        guard let index = partitions.index(forKey: topicPartition) else { return nil }
        return Self.advance(&partitions.values[index])
    }

    private static func advance(_ state: inout PartitionState) -> Int64? {
        while state.entries.first?.remaining == 0 {
            state.entries.removeFirst()
        }
        guard let watermark = state.entries.first?.offset ?? state.next, watermark != state.reported else { return nil }
        state.reported = watermark
        return watermark
    }

    /// The current watermark of a partition, if any record was seen.
    public func watermark(_ topicPartition: TopicPartition) -> Int64? {
        guard let state = partitions[topicPartition] else { return nil }
        return state.entries.first(where: { $0.remaining > 0 })?.offset ?? state.next
    }

    /// Events of this record not yet settled (0 when settled or no longer tracked).
    public func remaining(_ ack: RecordAck) -> Int {
        guard let state = partitions[ack.topicPartition], state.epoch == ack.epoch,
              let index = Self.index(of: ack.offset, in: state.entries) else { return 0 }
        return state.entries[index].remaining
    }

    /// The record of `ack`, added with it, while any of its events is unsettled.
    public func message(_ ack: RecordAck) -> KafkaMessage? {
        messages[MessageKey(epoch: ack.epoch, offset: ack.offset)]
    }

    /// Unsettled records of one partition.
    public func pending(_ topicPartition: TopicPartition) -> Int {
        partitions[topicPartition]?.entries.count { $0.remaining > 0 } ?? 0
    }

    /// Forgets a partition (revoked or lost). Later settles for it are ignored.
    public mutating func revoke(_ topicPartition: TopicPartition) {
        if let state = partitions.removeValue(forKey: topicPartition) {
            forget(state)
        }
    }

    private mutating func forget(_ state: PartitionState) {
        for entry in state.entries where entry.remaining > 0 {
            pendingRecords -= 1
            pendingBytes -= entry.bytes
            messages[MessageKey(epoch: state.epoch, offset: entry.offset)] = nil
        }
    }

    public var trackedPartitions: [TopicPartition] { Array(partitions.keys) }

    private mutating func newState() -> PartitionState {
        defer { nextEpoch += 1 }
        return PartitionState(epoch: nextEpoch)
    }

    /// Binary search: offsets in `entries` strictly increase.
    private static func index(of offset: Int64, in entries: Deque<Entry>) -> Int? {
        var low = 0
        var high = entries.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let value = entries[middle].offset
            if value == offset { return middle }
            if value < offset { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }
}
