import Currents
import DequeModule
import Kafka
import Logging
import MParticle

/// The pipeline: records → transform → per-feed batchers → senders → settle → offsets.
///
/// One actor owns the offset tracker and each feed's ``FeedLane`` (its batchers, queue, requests
/// in flight and blocked state), so every decision about a record happens in one place; HTTP and
/// dead-letter writes run in child tasks and report back with what travelled with the data.
/// Offsets are stored only as watermarks of settled records (invariant 1): a record settles when
/// mParticle accepted each of its events, or each was skipped with a counted reason or parked in
/// the dead-letter topic (acknowledged by the broker).
///
/// The actor's work is split by stage, one file each: intake (`RelayPipeline+Intake.swift`),
/// requests and their outcomes (`+Delivery`), settling and backpressure (`+Settling`), parking
/// (`+Parking`) and rebalances (`+Rebalance`). `docs/architecture.md` follows one record through
/// them.
public actor RelayPipeline {
    let source: any RecordSource
    let sender: FeedSender
    let deadLetters: any DeadLetterSink
    let settings: Settings
    let clock: any RelayClock
    let logger: Logger
    public nonisolated let stats: RelayStats
    let transform: RecordTransform
    /// The records taken and not yet settled: where each is in Kafka, not its bytes.
    var tracker = OffsetTracker()
    /// Each feed's batchers, queue, requests in flight and blocked state, found by the feed's position.
    var lanes: FeedTable<FeedLane>
    var tasks: [Int: Task<Void, Never>] = [:]
    var nextTaskID = 0
    var assigned: Set<TopicPartition> = []
    /// Partitions being revoked: their new records are not taken (the next owner reads them).
    var revoking: Set<TopicPartition> = []
    var paused = false
    var stopping = false
    var reportedSkips: Set<SkipReason> = []
    /// Cuts to mParticle's per-event limits are logged at most once a minute per event type.
    var truncationLog = TruncationLog()
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    var lastSweep: UInt64 = 0

    public init(source: any RecordSource, mapper: EventMapper, sender: FeedSender, deadLetters: any DeadLetterSink,
                settings: Settings, clock: any RelayClock = SystemRelayClock(), stats: RelayStats, logger: Logger) {
        self.source = source
        self.sender = sender
        self.deadLetters = deadLetters
        self.settings = settings
        self.clock = clock
        self.stats = stats
        self.logger = logger
        self.transform = RecordTransform(mapper: mapper, maxAgeMs: settings.maxAge.milliseconds, historicalAfterMs: settings.historicalAfter.milliseconds,
                                         ageFromFirstRead: settings.ageFromFirstRead, redrive: settings.redrive)
        // A pool may hold as many open batches as the in-flight cap has records: that cap is the
        // memory bound, and a smaller pool would seal batches that could still grow.
        let maxOpenBatches = max(5_000, settings.maxInFlightMessages)
        // One lane per feed the router can send to: every feed of its catalogue.
        lanes = FeedTable(feeds: mapper.router.feeds) { FeedLane(feed: $0, maxOpenBatches: maxOpenBatches) }
    }

    var maxAgeMs: Int64 { settings.maxAge.milliseconds }

    /// Records as the transform stage hands them to the actor: each batch with the task working
    /// out its outcomes and where it leaves them (in parts: joined, they are the records'
    /// outcomes in order), in the order the source gave them.
    enum Prepared: Sendable {
        case messages([KafkaMessage], Task<Void, Never>, OutcomeHandOff, wallNow: Int64)
        case other(KafkaConsumerEvent)
    }

    /// Consumes until the source ends (after `shutdown`, or when the consumer is closed).
    ///
    /// Two stages: the record transform (decode, map, encode: pure, most of the CPU per record)
    /// runs outside the actor, one task per batch the source hands over, and the actor does the
    /// bookkeeping (batching, offsets, requests). The actor takes the outcomes in the order the
    /// records came, so nothing about settling changes; the stages just run at once on every
    /// core. A batch's transform starts as soon as the source hands it over, not when the one
    /// before it is done: one stage of batches at a time left a core idle whenever the batch
    /// in hand ran short of work. The tasks and the stream between the stages hold no more than
    /// the source handed over (its buffer cap counts records until the actor has handled them).
    public func run() async {
        let ticker = Task { [weak self, clock, settings] in
            let interval = Duration.milliseconds(max(5, min(50, settings.lingerMs / 2)))
            while !Task.isCancelled {
                try? await clock.sleep(for: interval)
                await self?.tick()
            }
        }
        let (prepared, continuation) = AsyncStream.makeStream(of: Prepared.self)
        let transformer = Task.detached { [source, transform, clock] in
            for await event in source.events {
                guard case .messages(let messages) = event else {
                    continuation.yield(.other(event))
                    continue
                }
                let wallNow = clock.wallMilliseconds()
                let handOff = OutcomeHandOff()
                let task = Task { handOff.put(await Self.apply(transform, to: messages, wallNow: wallNow)) }
                continuation.yield(.messages(messages, task, handOff, wallNow: wallNow))
            }
            continuation.finish()
        }
        await withTaskCancellationHandler {
            for await item in prepared {
                switch item {
                case .messages(let messages, let task, let handOff, let wallNow):
                    await task.value
                    handle(messages, outcomes: handOff.take(), wallNow: wallNow)
                case .other(let event): handle(event)
                }
            }
        } onCancel: {
            transformer.cancel()
        }
        ticker.cancel()
    }

    /// Stops taking records, sends what is batched, waits up to `timeout` for in-flight requests
    /// and dead-letter writes, commits the stored offsets and leaves the group. Unsettled records
    /// are not committed, so a later run delivers them again.
    public func shutdown(timeout: Duration) async {
        guard !stopping else { return }
        stopping = true
        flushBatchers()
        let deadline = clock.monotonicNanoseconds() + UInt64(max(0, timeout.milliseconds)) * 1_000_000
        while !tasks.isEmpty || lanes.all.contains(where: { !$0.queue.isEmpty }), clock.monotonicNanoseconds() < deadline {
            // Blocked feeds cannot drain; stop waiting for them once nothing else is in flight.
            if tasks.isEmpty && lanes.all.allSatisfy({ $0.queue.isEmpty || $0.blocked != nil }) { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !tasks.isEmpty || tracker.pendingRecords > 0 {
            logger.warning("stopping with unsettled records; they stay uncommitted and will be delivered again",
                           metadata: ["tasks": "\(tasks.count)", "records": "\(tracker.pendingRecords)"])
            tasks.values.forEach { $0.cancel() }
        }
        do {
            try source.commit()
        } catch {
            logger.warning("final commit failed; the next run re-sends from the last committed offsets", metadata: ["error": "\(error)"])
        }
        await source.close()
    }

    /// Waits until every record taken so far is settled and nothing is batched or in flight.
    public func waitUntilIdle() async {
        if isIdle { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Records taken and not yet settled.
    public var pendingRecords: Int { tracker.pendingRecords }

    /// The partitions this member owns now: assigned and not being revoked. A revocation starts
    /// with `drain`, called by the consumer before it gives the partitions up, and from then on no
    /// new record of theirs is taken; the `.revoked` event itself reaches the actor later, behind
    /// the records the transform stage still holds, so it cannot be what ends ownership here.
    public var assignedPartitions: Set<TopicPartition> { revoking.isEmpty ? assigned : assigned.subtracting(revoking) }

    /// Intake is paused at the in-flight cap.
    public var isPaused: Bool { paused }

    /// Feeds whose credentials mParticle refuses now.
    public var blockedFeeds: Set<Feed> { Set(lanes.feeds.filter { lanes[$0].blocked != nil }) }

    /// Nothing is in flight, batched or unsettled.
    var isIdle: Bool {
        tracker.pendingRecords == 0 && tasks.isEmpty && lanes.all.allSatisfy(\.batchersAreEmpty)
    }

    /// Runs `work` in a child task the actor keeps until it ends (cancelled at shutdown).
    func startTask(_ work: @escaping @Sendable () async -> Void) {
        let id = nextTaskID
        nextTaskID += 1
        tasks[id] = Task { [weak self] in
            await work()
            await self?.finished(id)
        }
    }

    func finished(_ id: Int) {
        tasks[id] = nil
        notifyIfIdle()
    }

    func notifyIfIdle() {
        guard isIdle, !idleWaiters.isEmpty else { return }
        let waiters = idleWaiters
        idleWaiters = []
        waiters.forEach { $0.resume() }
    }
}
