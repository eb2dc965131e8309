/// Identifies a record for settling: the life of its partition in the tracker and its offset.
///
/// The epoch changes whenever a partition's tracking restarts (revoke, re-assignment, offset
/// rewind), so late results from an earlier life are ignored. The slot says where the tracker
/// keeps that life, so settling an event finds it by index: no topic name travels with every
/// event, and none is hashed per event.
public struct RecordAck: Hashable, Sendable {
    /// Where the tracker keeps the partition's state (valid while `epoch` matches).
    public var slot: Int32
    public var epoch: UInt64
    public var offset: Int64

    public init(slot: Int32, epoch: UInt64, offset: Int64) {
        self.slot = slot
        self.epoch = epoch
        self.offset = offset
    }
}
