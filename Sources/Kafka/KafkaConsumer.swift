import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// A group consumer whose poll loop runs on its own thread and never waits on the code that uses
/// the records.
///
/// Records, rebalances and errors arrive, in order, on `events`. Offsets are never committed by
/// position: the owner calls `storeOffsets` once records are settled, and librdkafka's auto-commit
/// commits what was stored (`enable.auto.commit=true`, `enable.auto.offset.store=false`). On a
/// revoke, stored offsets are committed synchronously before the partitions are given up.
public final class KafkaConsumer: @unchecked Sendable {
    // @unchecked: `handle` is used through librdkafka's thread-safe API from any thread, while
    // `pending` and `topicNames` are touched only by the poll thread; the rest is in `state`.
    //
    // The poll thread is an extension in KafkaConsumer+PollThread.swift: the members it uses are
    // internal rather than private so that it can reach them.

    public let events: AsyncStream<KafkaConsumerEvent>
    let continuation: AsyncStream<KafkaConsumerEvent>.Continuation
    let handle: OpaquePointer
    private let context: CallbackContext
    let configuration: KafkaConsumerConfiguration
    let logger: Logger

    /// What the owner's calls and the poll thread share, always under ``state``'s lock.
    struct State {
        var started = false
        var stopRequested = false
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// Called on the poll thread before revoked partitions are committed and given up.
        var revokeHook: (@Sendable ([TopicPartition]) -> Void)?
        /// The owner asked for a pause (its in-flight cap).
        var ownerPaused = false
        /// The poll thread paused because the owner has not handled what it was given.
        var bufferPaused = false
        var buffered = 0
        /// The pause state last applied to librdkafka.
        var appliedPause = false
        /// Times the fetchers were woken after the prefetch queue ran dry (`FetcherWake`).
        var fetcherWakes = 0
        var wakeHandler: (@Sendable () -> Void)?
    }
    let state = NIOLockedValueBox(State())

    /// Signalled when the owner has handled records (the poll thread may be waiting for room).
    let room = NSCondition()

    // Poll-thread only.
    var pending: [KafkaMessage] = []
    var topicNames: [OpaquePointer: String] = [:]
    /// The topic of the last record taken: records come in runs of one topic, and looking the
    /// name up in `topicNames` hashed the handle for every record.
    var lastTopic: (handle: OpaquePointer, name: String)?
    /// Poll thread only.
    var fetcherWake: FetcherWake
    /// Made on the first `reread` (most runs never park after a send) and closed with this consumer.
    private let reader = NIOLockedValueBox<KafkaRecordReader?>(nil)

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let context = CallbackContext(logger: logger)
        self.context = context
        (events, continuation) = AsyncStream.makeStream(of: KafkaConsumerEvent.self, bufferingPolicy: .unbounded)

        let conf = try makeConf(configuration.librdkafkaProperties)
        fetcherWake = FetcherWake(maxQueuedKilobytes: confValue(conf, "queued.max.messages.kbytes").flatMap { Int($0) } ?? 65_536,
                                  minQueuedMessages: confValue(conf, "queued.min.messages").flatMap { Int($0) } ?? 100_000)
        installCommonCallbacks(conf: conf, context: context)
        rd_kafka_conf_set_rebalance_cb(conf) { handle, error, partitions, opaque in
            guard let handle, let partitions, let context = CallbackContext.from(opaque) else { return }
            context.rebalance?(handle, error, partitions)
        }
        handle = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
        // Serve everything (rebalances, errors, logs) from the consumer queue on the poll thread.
        rd_kafka_poll_set_consumer(handle)

        let yield = continuation
        context.errorHandler = { error in
            logger.warning("kafka client error", metadata: ["error": "\(error)"])
            yield.yield(.error(error))
        }
        context.rebalance = { [unowned self] handle, error, partitions in
            self.rebalance(handle: handle, error: error, partitions: partitions)
        }
    }

    deinit {
        destroyClient(handle)
    }

    /// Installs a function called (on the poll thread) with each statistics report; set
    /// `statistics.interval.ms` for reports to be made. Install before `start`.
    public func setStatisticsHandler(_ handler: @escaping @Sendable (KafkaStatistics) -> Void) {
        context.statistics = handler
    }

    /// Installs a function the poll thread calls with partitions about to be revoked, before their
    /// stored offsets are committed. It may block briefly (below the session timeout) to let
    /// in-flight work settle.
    public func setRevokeHook(_ hook: @escaping @Sendable ([TopicPartition]) -> Void) {
        state.withLockedValue { $0.revokeHook = hook }
    }

    /// Installs a function the poll thread calls each time it wakes the fetchers (`FetcherWake`),
    /// for a metric. Install before `start`.
    public func setFetcherWakeHandler(_ handler: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.wakeHandler = handler }
    }

    /// Subscribes and starts the poll thread.
    public func start() throws {
        let alreadyStarted = state.withLockedValue { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { return }
        if let assignment = configuration.assignment {
            let list = makePartitionList(assignment.map { ($0.key, $0.value) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_assign(handle, list)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(kind: .client, responseError: result, context: "assign \(assignment.keys.sorted())")
            }
            logger.info("partitions assigned (own assignment, no group membership)", metadata: ["partitions": "\(assignment.keys.sorted())"])
            continuation.yield(.assigned(assignment.keys.sorted()))
            let thread = Thread { [self] in self.pollLoop() }
            thread.name = "kafka-consumer-poll"
            thread.start()
            return
        }
        let list = makePartitionList(configuration.topics.map { (TopicPartition($0, RD_KAFKA_PARTITION_UA), nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_subscribe(handle, list)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: result, context: "subscribe to \(configuration.topics)")
        }
        let thread = Thread { [self] in self.pollLoop() }
        thread.name = "kafka-consumer-poll"
        thread.start()
    }

    /// Marks these offsets (each one past the last settled record) for the next commit.
    /// Partitions this member no longer owns are refused by librdkafka and returned.
    @discardableResult
    public func storeOffsets(_ offsets: [TopicPartition: Int64]) -> [TopicPartition: KafkaError] {
        guard !offsets.isEmpty else { return [:] }
        let list = makePartitionList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_offsets_store(handle, list)
        guard result != RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        var failures: [TopicPartition: KafkaError] = [:]
        for (topicPartition, _, error) in topicPartitions(list) where error != RD_KAFKA_RESP_ERR_NO_ERROR {
            failures[topicPartition] = KafkaError(kind: .client, responseError: error, context: "store offset for \(topicPartition)")
        }
        return failures
    }

    /// Commits the stored offsets now and waits for the broker's answer.
    public func commit() throws {
        guard configuration.commitsOffsets else { return }
        let result = rd_kafka_commit(handle, nil, 0)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError(kind: .client, responseError: result, context: "commit offsets")
        }
    }

    /// Commits exactly these offsets now (not the stored ones) and waits for the broker's answer.
    /// `offsets reset` uses it as the group's only member.
    public func commit(_ offsets: [TopicPartition: Int64]) throws {
        try commitOffsets(handle, offsets)
    }

    /// Stops (or restarts) handing over records from every assigned partition.
    ///
    /// A pause first only holds the poll thread, which leaves librdkafka's prefetched records
    /// where they are (a pause in librdkafka discards them, and a resume fetches them again: with
    /// the relay pausing at its in-flight cap and resuming at half, that refetch left a draining
    /// relay idle a third of the time). A pause still in force after a second is applied in
    /// librdkafka, so the poll thread can go back to polling (heartbeats, rebalances,
    /// `max.poll.interval.ms`) without taking more.
    public func setPaused(_ paused: Bool) {
        state.withLockedValue { state in
            state.ownerPaused = paused
            // Only a resume is applied at once; a pause takes effect through the poll thread.
            if !paused { applyPause(&state) }
        }
        if !paused { wakePollThread() }
    }

    /// Whether the pause is in force in librdkafka, not only by holding the poll thread (tests).
    var isPausedInLibrdkafka: Bool { state.withLockedValue { $0.appliedPause } }

    /// The owner has processed `count` records handed over on `events`.
    public func handled(_ count: Int) {
        state.withLockedValue { state in
            state.buffered -= count
            if state.bufferPaused && state.buffered <= configuration.maxBufferedMessages / 2 {
                state.bufferPaused = false
                applyPause(&state)
            }
        }
        wakePollThread()
    }

    /// Wakes the poll thread if it waits for room.
    private func wakePollThread() {
        room.lock()
        room.signal()
        room.unlock()
    }

    /// Applies the combined pause state to the whole assignment when it changed. Called with the
    /// state locked, so two threads never apply opposite states out of order.
    func applyPause(_ state: inout State) {
        let paused = state.ownerPaused || state.bufferPaused
        guard paused != state.appliedPause else { return }
        state.appliedPause = paused
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard list.pointee.cnt > 0 else { return }
        let result = paused ? rd_kafka_pause_partitions(handle, list) : rd_kafka_resume_partitions(handle, list)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("\(paused ? "pause" : "resume") failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        } else {
            logger.debug(paused ? "fetching paused" : "fetching resumed", metadata: [
                "owner": "\(state.ownerPaused)", "buffered": "\(state.buffered)",
            ])
        }
    }


    /// Reads records of this consumer's topics again by offset, with a reader of its own (an
    /// assign-only consumer with this one's bootstrap list and properties). Offsets missing from
    /// the answer are no longer in Kafka.
    public func reread(_ offsets: [TopicPartition: [Int64]]) async throws -> [TopicPartition: [Int64: KafkaMessage]] {
        let reader = try self.reader.withLockedValue { reader -> KafkaRecordReader in
            if state.withLockedValue({ $0.stopRequested }) { throw KafkaError(kind: .closed, message: "the consumer is closed") }
            if let reader { return reader }
            let made = try KafkaRecordReader(bootstrapServers: configuration.bootstrapServers, clientID: configuration.clientID,
                                             properties: configuration.properties, logger: logger)
            reader = made
            return made
        }
        return try await reader.read(offsets)
    }

    /// Leaves the group cleanly (the revoke path commits stored offsets) and ends `events`.
    public func close() async {
        reader.withLockedValue { reader in
            reader?.close()
            reader = nil
        }
        let mustWait = state.withLockedValue { state -> Bool in
            if state.closed { return false }
            state.stopRequested = true
            return state.started
        }
        wakePollThread()
        guard mustWait else {
            dropHooks()
            continuation.finish()
            return
        }
        await withCheckedContinuation { waiter in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.closed { return true }
                state.closeWaiters.append(waiter)
                return false
            }
            if resumeNow { waiter.resume() }
        }
    }

    /// A closed consumer calls none of its owner's hooks again, so it lets them go: the relay's
    /// revoke hook holds its pipeline, which holds this consumer, and that cycle kept every
    /// relay's consumer (and its connections to the brokers) alive until the process exited.
    func dropHooks() {
        state.withLockedValue { state in
            state.revokeHook = nil
            state.wakeHandler = nil
        }
        context.statistics = nil
    }
}
