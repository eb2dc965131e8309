import DequeModule
import Kafka

/// Rebalances: partitions assigned to this member, and partitions revoked from it (drained
/// first, then their unsent work dropped and their tracking released).
extension RelayPipeline {
    /// Partitions assigned: their records are taken from now on.
    func assign(_ partitions: [TopicPartition]) {
        stats.rebalanced()
        assigned.formUnion(partitions)
        revoking.subtract(partitions)
    }

    /// Partitions revoked (after ``drain(_:timeout:)``): their unsent work is dropped and their
    /// unsettled records counted and forgotten; the next owner sends them from the committed
    /// offset.
    func revoke(_ partitions: [TopicPartition]) {
        stats.rebalanced()
        dropUnsentWork(of: partitions)
        for partition in partitions {
            assigned.remove(partition)
            let pending = tracker.pending(partition)
            if pending > 0 { stats.droppedForRevokedPartition(count: pending) }
            tracker.revoke(partition)
            revoking.remove(partition)
        }
        notifyIfIdle()
    }

    /// Called before partitions are revoked: stop taking their records, send their batched events
    /// ahead of everything else, and wait up to `timeout` for their work to settle, so the commit
    /// that follows covers as much as possible and the next owner re-sends little.
    public func drain(_ partitions: [TopicPartition], timeout: Duration) async {
        revoking.formUnion(partitions)
        guard !stopping else { return }
        sendFirst(partitions)
        let deadline = clock.monotonicNanoseconds() + UInt64(max(0, timeout.milliseconds)) * 1_000_000
        while partitions.contains(where: { tracker.pending($0) > 0 }), clock.monotonicNanoseconds() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = partitions.reduce(0) { $0 + tracker.pending($1) }
        if left > 0 {
            logger.warning("drain timeout on revoke: records still unsettled; the next owner will send them again", metadata: [
                "partitions": "\(partitions.sorted())", "records": "\(left)",
            ])
        } else {
            logger.info("revoked partitions drained", metadata: ["partitions": "\(partitions.sorted())"])
        }
    }

    /// Puts the partitions' work at the front of each feed's queue: first the queued requests that
    /// hold any of their events, then their open batches (`FeedBatcher.takeBatches`); everything
    /// else stays queued or open, in its order.
    ///
    /// Flushing every pool to the back of the queue instead made a revocation wait for the whole
    /// window under a rate limit (30,000 records are ~11 s of batches at 270 per second per feed,
    /// past the 10 s drain timeout), and the next owner sent again whatever had not settled.
    func sendFirst(_ partitions: [TopicPartition]) {
        guard let holds = eventTest(partitions) else { return }
        for feed in lanes.feeds {
            // One pass over the queue, each request tested once, both parts in their order.
            var first: Deque<BulkRequest> = [], rest: Deque<BulkRequest> = []
            for request in lanes[feed].queue {
                if request.units.contains(where: holds) { first.append(request) } else { rest.append(request) }
            }
            first += lanes[feed].takeBatches(holding: holds)
            guard !first.isEmpty else { continue }
            lanes[feed].queue = first + rest
            dispatch(feed)
        }
    }

    /// Takes the partitions' events that were not sent out of the queues and the pools, once
    /// the partitions are gone: the new owner sends them from the committed offset, so sending
    /// them too would only spend the feed's rate limit on duplicates. Events already in flight
    /// cannot be called back; their results are dropped. Done before the tracker releases the
    /// partitions' slots, which a later assignment may reuse.
    func dropUnsentWork(of partitions: [TopicPartition]) {
        guard let holds = eventTest(partitions) else { return }
        for feed in lanes.feeds {
            let queue = lanes[feed].queue
            if queue.contains(where: { $0.units.contains(where: holds) }) {
                lanes[feed].queue = Deque(queue.compactMap { $0.units.contains(where: holds) ? $0.partitioned(by: holds).rest : $0 })
            }
            lanes[feed].removeEvents(where: holds)
        }
    }

    /// Whether an event belongs to one of the partitions (by the tracker's slots, valid until
    /// they are revoked); nil when none of them has any record in the pipeline.
    func eventTest(_ partitions: [TopicPartition]) -> ((EventUnit) -> Bool)? {
        let slots = Set(partitions.compactMap { tracker.slot(for: $0) })
        guard !slots.isEmpty else { return nil }
        return { slots.contains($0.ack.slot) }
    }
}
