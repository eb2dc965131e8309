import Kafka
import Logging

/// Settling: events accepted, skipped or parked settle their records; settled records move each
/// partition's watermark, which is stored for the next commit (invariant 1); the records in
/// flight pause and resume intake.
extension RelayPipeline {
    /// Settles events and stores the offsets their records moved.
    func settle(_ acks: some Sequence<RecordAck>) {
        for ack in acks { _ = tracker.settle(ack) }
        store(tracker.takeMovedWatermarks())
        applyBackpressure()
        notifyIfIdle()
    }

    /// Stores offsets for the next commit; a partition no longer owned refuses its offset.
    func store(_ offsets: [TopicPartition: Int64]) {
        guard !offsets.isEmpty else { return }
        let refused = source.storeOffsets(offsets)
        stats.stored(offsets: offsets.count - refused.count)
        for (partition, error) in refused {
            logger.debug("offset not stored (partition no longer owned?)", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// Pauses every partition at the in-flight cap (records or bytes) and resumes them at half.
    func applyBackpressure() {
        let pending = tracker.pendingRecords
        let bytes = tracker.pendingBytes
        stats.inFlight(records: pending, bytes: bytes, pausedPartitions: paused ? assigned.count : 0)
        if !paused && (pending >= settings.maxInFlightMessages || bytes >= settings.maxInFlightBytes) {
            paused = true
            logger.debug("in-flight cap reached; pausing partitions", metadata: ["records": "\(pending)", "bytes": "\(bytes)"])
            source.setPaused(true)
            // Nothing more can join the open batches: send them as slots allow, not at the next tick.
            for feed in lanes.feeds { dispatch(feed) }
        } else if paused && pending <= settings.maxInFlightMessages / 2 && bytes <= settings.maxInFlightBytes / 2 {
            paused = false
            logger.debug("below low-water mark; resuming partitions", metadata: ["records": "\(pending)", "bytes": "\(bytes)"])
            source.setPaused(false)
        }
    }
}
