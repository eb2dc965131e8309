import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// The poll thread: the loop that takes records from librdkafka and hands them over on
/// ``KafkaConsumer/events``, holds back while the owner has no room for more, wakes the fetchers
/// when the prefetch queue runs dry, and handles the rebalances librdkafka serves on this thread.
///
/// All of it but ``KafkaConsumer/fetcherWakes`` runs on the poll thread (started by
/// ``KafkaConsumer/start()``), the only thread that touches `pending`, `topicNames`, `lastTopic`
/// and `fetcherWake`.
extension KafkaConsumer {
    /// The poll thread's body: polls until ``KafkaConsumer/close()`` asks it to stop, handing
    /// records over in batches of up to `maxBatchSize`, then closes the consumer in librdkafka
    /// (leaving the group, through the revoke path) and ends ``KafkaConsumer/events``.
    func pollLoop() {
        let maxBatch = max(1, configuration.maxBatchSize)
        while !state.withLockedValue({ $0.stopRequested }) {
            waitForRoom()
            guard let first = rd_kafka_consumer_poll(handle, 100) else {
                flushPending()
                if fetcherWake.queueRanDry() { wakeFetchers() }
                continue
            }
            take(first)
            var ranDry = false
            while pending.count < maxBatch {
                guard let next = rd_kafka_consumer_poll(handle, 0) else {
                    ranDry = true
                    break
                }
                take(next)
            }
            flushPending()
            if ranDry && fetcherWake.queueRanDry() { wakeFetchers() }
        }
        flushPending()
        let result = rd_kafka_consumer_close(handle)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("consumer close", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
        dropHooks()
        continuation.finish()
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.closeWaiters = [] }
            return state.closeWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Prompts the leaders of the assigned partitions to fetch now, after the prefetch queue filled
    /// and ran dry (see `FetcherWake`): a ListOffsets request (one per leader, for the end
    /// offsets) wakes each leader's broker thread, which then finds its partitions fetchable.
    ///
    /// Sending is what wakes them, so the answer is not waited for (timeout 0: librdkafka drops
    /// it when it comes, as for any timed-out call). Waiting blocked the poll thread for the whole
    /// timeout whenever the request queued behind a long-polling Fetch on the same connection,
    /// which is exactly when no wake-up was needed. A request that could not be sent at all (no
    /// known leader) is only logged: librdkafka's own wake-up is left then.
    private func wakeFetchers() {
        guard !state.withLockedValue({ $0.appliedPause }) else { return }
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard list.pointee.cnt > 0 else { return }
        for index in 0..<Int(list.pointee.cnt) {
            // offsets_for_times reads each offset as a timestamp; -1 asks for the end offset.
            list.pointee.elems[index].offset = Int64(RD_KAFKA_OFFSET_END)
        }
        let handler = state.withLockedValue { state in
            state.fetcherWakes += 1
            return state.wakeHandler
        }
        handler?()
        let result = rd_kafka_offsets_for_times(handle, list, 0)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__TIMED_OUT {
            logger.debug("fetcher wake-up request not sent", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
    }

    /// Times the fetchers were woken (tests).
    var fetcherWakes: Int { state.withLockedValue { $0.fetcherWakes } }

    private func flushPending() {
        guard !pending.isEmpty else { return }
        let count = pending.count
        continuation.yield(.messages(pending))
        pending = []
        pending.reserveCapacity(64)
        state.withLockedValue { $0.buffered += count }
    }

    /// While the owner holds `maxBufferedMessages` handed-over records, or has asked for a pause,
    /// stop polling, for up to a second at a time; librdkafka's own prefetch queue (bounded by
    /// `queued.max.messages.kbytes`) keeps what it has. A pipeline merely slower than the broker,
    /// or one pausing briefly at its in-flight cap, waits here without losing prefetched data; one
    /// that has not made room (or resumed) within the second gets its partitions paused in
    /// librdkafka, so the poll thread can go back to polling without taking more.
    private func waitForRoom() {
        let limit = configuration.maxBufferedMessages
        @Sendable func mustWait(_ state: State) -> Bool {
            !state.stopRequested && !state.appliedPause && (state.buffered >= limit || state.ownerPaused)
        }
        guard state.withLockedValue({ mustWait($0) }) else { return }
        let deadline = Date().addingTimeInterval(1)
        room.lock()
        while state.withLockedValue({ mustWait($0) }), Date() < deadline {
            _ = room.wait(until: deadline)
        }
        room.unlock()
        state.withLockedValue { state in
            guard !state.stopRequested else { return }
            if state.buffered >= limit && !state.bufferPaused { state.bufferPaused = true }
            applyPause(&state)
        }
    }

    /// Copies one C message into `pending` (or reports its error) and destroys it.
    private func take(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        defer { rd_kafka_message_destroy(message) }
        let raw = message.pointee
        if raw.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if raw.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
            let error = KafkaError(kind: .client, responseError: raw.err, context: "consume")
            logger.warning("consume error", metadata: ["error": "\(error)"])
            flushPending()
            continuation.yield(.error(error))
            return
        }
        let topic: String
        if let rkt = raw.rkt {
            if let last = lastTopic, last.handle == rkt {
                topic = last.name
            } else if let cached = topicNames[rkt] {
                topic = cached
                lastTopic = (rkt, topic)
            } else {
                topic = String(cString: rd_kafka_topic_name(rkt))
                topicNames[rkt] = topic
                lastTopic = (rkt, topic)
            }
        } else {
            topic = ""
        }
        fetcherWake.took(bytes: raw.len + raw.key_len)
        pending.append(KafkaMessage(copying: message, topic: topic))
    }

    /// Handles a rebalance librdkafka serves on the poll thread (the callback installed in
    /// ``KafkaConsumer/init(configuration:logger:)``): assigns or gives up the partitions, eager or
    /// cooperative as the group's protocol is, and reports the change on ``KafkaConsumer/events``.
    ///
    /// On a revoke that is not a loss, the revoke hook runs and stored offsets are committed before
    /// the partitions are given up.
    ///
    /// - Parameters:
    ///   - handle: The consumer's client handle, as librdkafka passes it.
    ///   - error: `RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS`, `RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS`, or
    ///     another error, on which the whole assignment is given up.
    ///   - partitions: The partitions assigned or revoked.
    func rebalance(handle: OpaquePointer, error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        // Records taken before the rebalance must reach the owner before the rebalance does.
        flushPending()
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let list = topicPartitions(partitions).map(\.0)
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let failure = rd_kafka_incremental_assign(handle, partitions) {
                    let error = KafkaError(kind: .client, consuming: failure, context: "incremental assign")
                    logger.error("assign failed", metadata: ["error": "\(error)"])
                }
            } else {
                rd_kafka_assign(handle, partitions)
            }
            // New partitions of a paused member start paused.
            if state.withLockedValue({ $0.appliedPause }) {
                rd_kafka_pause_partitions(handle, partitions)
            }
            logger.info("partitions assigned", metadata: ["partitions": "\(list.sorted())"])
            continuation.yield(.assigned(list))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            if !lost, let hook = state.withLockedValue({ $0.revokeHook }) {
                hook(list)
            }
            if !lost && configuration.commitsOffsets {
                let result = rd_kafka_commit(handle, nil, 0)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    logger.warning("commit on revoke failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
                }
            }
            if cooperative {
                if let failure = rd_kafka_incremental_unassign(handle, partitions) {
                    let error = KafkaError(kind: .client, consuming: failure, context: "incremental unassign")
                    logger.error("unassign failed", metadata: ["error": "\(error)"])
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
            logger.info(lost ? "partitions lost" : "partitions revoked", metadata: ["partitions": "\(list.sorted())"])
            continuation.yield(.revoked(list))
        default:
            logger.error("rebalance error", metadata: ["error": "\(String(cString: rd_kafka_err2str(error)))"])
            if cooperative {
                if let failure = rd_kafka_incremental_unassign(handle, partitions) { rd_kafka_error_destroy(failure) }
            } else {
                rd_kafka_assign(handle, nil)
            }
            continuation.yield(.revoked(list))
        }
    }
}
