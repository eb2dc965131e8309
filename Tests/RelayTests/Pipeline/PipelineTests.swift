import Foundation
import Kafka
import Logging
import MParticle
import NIOConcurrencyHelpers
import Testing
@testable import Relay

/// A record source the test feeds by hand; it remembers what was stored, and every record it
/// handed over, for `reread` (as Kafka would, until `forget` removes one: retention).
final class FakeSource: RecordSource {
    /// What the tests feed through: records handed over are also kept, by location.
    struct Feeder: Sendable {
        let inner: AsyncStream<KafkaConsumerEvent>.Continuation
        let log: NIOLockedValueBox<[TopicPartition: [Int64: KafkaMessage]]>
        func yield(_ event: KafkaConsumerEvent) {
            if case .messages(let messages) = event {
                log.withLockedValue { log in for message in messages { log[message.topicPartition, default: [:]][message.offset] = message } }
            }
            inner.yield(event)
        }
        func finish() { inner.finish() }
    }

    let events: AsyncStream<KafkaConsumerEvent>
    let continuation: Feeder
    let stored = NIOLockedValueBox<[TopicPartition: Int64]>([:])
    let paused = NIOLockedValueBox(false)
    let log = NIOLockedValueBox<[TopicPartition: [Int64: KafkaMessage]]>([:])
    /// Offsets asked for by `reread`, in order.
    let rereads = NIOLockedValueBox<[[TopicPartition: [Int64]]]>([])

    init() {
        let (events, inner) = AsyncStream.makeStream(of: KafkaConsumerEvent.self)
        self.events = events
        continuation = Feeder(inner: inner, log: log)
    }

    /// Reads that fail first (brokers not answering), as the consumer's reader would throw.
    let failingRereads = NIOLockedValueBox(0)

    func reread(_ offsets: [TopicPartition: [Int64]]) async throws -> [TopicPartition: [Int64: KafkaMessage]] {
        rereads.withLockedValue { $0.append(offsets) }
        let fail = failingRereads.withLockedValue { count in
            defer { count = max(count - 1, 0) }
            return count > 0
        }
        if fail { throw KafkaError(kind: .client, message: "no record within 30000 ms reading it again") }
        return log.withLockedValue { log in
            offsets.reduce(into: [:]) { found, entry in
                for offset in entry.value { if let message = log[entry.key]?[offset] { found[entry.key, default: [:]][offset] = message } }
            }
        }
    }

    /// The record is no longer in "Kafka" (retention).
    func forget(_ topicPartition: TopicPartition, offset: Int64) {
        _ = log.withLockedValue { $0[topicPartition]?.removeValue(forKey: offset) }
    }

    func storeOffsets(_ offsets: [TopicPartition: Int64]) -> [TopicPartition: KafkaError] {
        stored.withLockedValue { $0.merge(offsets) { $1 } }
        return [:]
    }
    func commit() throws {}
    /// The stored offsets each time intake was resumed.
    let storedAtResume = NIOLockedValueBox<[[TopicPartition: Int64]]>([])
    func setPaused(_ paused: Bool) {
        self.paused.withLockedValue { $0 = paused }
        if !paused { storedAtResume.withLockedValue { $0.append(storedOffsets) } }
    }
    func handled(_ count: Int) {}
    func close() async { continuation.finish() }
    var storedOffsets: [TopicPartition: Int64] { stored.withLockedValue { $0 } }
}

/// A pipeline over test doubles: the given feeds configured, fast backoff, real clock.
func makeTestPipeline(source: FakeSource, api: some EventsAPI, deadLetters: MemoryDeadLetters = MemoryDeadLetters(),
                      feeds: Set<Feed>, settings: RelayPipeline.Settings, maxBatchesPerSecond: Double = 270,
                      clock: any RelayClock = SystemRelayClock()) -> RelayPipeline {
    let stats = RelayStats(name: "test")
    let sender = FeedSender(api: api, baseURL: "http://unused",
                            credentials: { feeds.contains($0) ? FeedCredentials(key: "k-\($0)", secret: "s") : nil },
                            backoff: Backoff(baseMs: 1, capMs: 5), clock: SystemRelayClock(), stats: stats, logger: Logger(label: "test"),
                            maxBatchesPerSecond: maxBatchesPerSecond)
    let mapper = EventMapper(environment: .production, identityKey: "customerid",
                             router: FeedRouter(configuredFeeds: feeds, apps: [:]), selection: EventSelection())
    return RelayPipeline(source: source, mapper: mapper, sender: sender, deadLetters: deadLetters, settings: settings,
                         clock: clock, stats: stats, logger: Logger(label: "test"))
}

/// An Events API that holds every request until the test opens the gate; it records each
/// request on arrival, as the event ids of each of its batches.
final class GatedAPI: EventsAPI {
    let isOpen = NIOLockedValueBox(false)
    let requests = NIOLockedValueBox<[[[String]]]>([])

    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        let batches = try JSONSerialization.jsonObject(with: Data(body.bytes)) as! [[String: Any]]
        requests.withLockedValue {
            $0.append(batches.map { ($0["events"] as! [[String: Any]]).map { ($0["data"] as! [String: Any])["source_message_id"] as! String } })
        }
        while !isOpen.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        return EventsAPIResponse(status: 202)
    }
    var received: [[[String]]] { requests.withLockedValue { $0 } }
}

/// A dead-letter sink in memory.
final class MemoryDeadLetters: DeadLetterSink {
    let parked = NIOLockedValueBox<[(KafkaMessage, DeadLetterDetails)]>([])
    func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws {
        parked.withLockedValue { $0.append((message, details)) }
    }
    func close() async {}
    var records: [(KafkaMessage, DeadLetterDetails)] { parked.withLockedValue { $0 } }
}

/// An Events API that answers what the test says, and counts.
final class ScriptedAPI: EventsAPI {
    let status = NIOLockedValueBox(202)
    let calls = NIOLockedValueBox(0)
    let acceptedIDs = NIOLockedValueBox<[String]>([])
    /// Raw bodies of accepted requests.
    let bodies = NIOLockedValueBox<[[UInt8]]>([])
    /// Ids accepted on `/v2/bulkevents/historical`.
    let historicalIDs = NIOLockedValueBox<[String]>([])

    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        calls.withLockedValue { $0 += 1 }
        let status = self.status.withLockedValue { $0 }
        if status == 202 {
            let batches = try JSONSerialization.jsonObject(with: Data(body.bytes)) as! [[String: Any]]
            let ids = batches.flatMap { ($0["events"] as! [[String: Any]]).map { ($0["data"] as! [String: Any])["source_message_id"] as! String } }
            acceptedIDs.withLockedValue { $0 += ids }
            if historical { historicalIDs.withLockedValue { $0 += ids } }
            bodies.withLockedValue { $0.append(body.bytes) }
        }
        return EventsAPIResponse(status: status)
    }
}

@Suite(.timeLimit(.minutes(10))) struct PipelineTests {
    let partition = TopicPartition("braze.currents", 0)

    func makePipeline(source: FakeSource, api: ScriptedAPI, deadLetters: MemoryDeadLetters = MemoryDeadLetters()) -> RelayPipeline {
        makeTestPipeline(source: source, api: api, deadLetters: deadLetters, feeds: [.unbound, .ios],
                         settings: .init(lingerMs: 10, maxInFlightRequestsPerFeed: 2, maxInFlightMessages: 1000))
    }

    func envelope(_ id: String, user: String? = "u-1", type: String = "users.messages.email.Send") -> String {
        let userPart = user.map { "\"external_user_id\":\"\($0)\"" } ?? "\"user_id\":\"x\""
        return "{\"event_type\":\"\(type)\",\"id\":\"\(id)\",\"time\":1700000000,\"user\":{\(userPart)},\"properties\":{\"email_address\":\"a@b.c\"}}"
    }

    func message(_ offset: Int64, _ value: String?, in topicPartition: TopicPartition? = nil) -> KafkaMessage {
        // Produced now: the events' own `time` (2023) would make them older than the 48-hour limit.
        KafkaMessage(topicPartition: topicPartition ?? partition, offset: offset, timestampMs: Int64(Date().timeIntervalSince1970 * 1000), key: nil,
                     value: value.map { Array($0.utf8) })
    }

    /// Waits until `condition` holds (it may ask the pipeline actor), recording an issue after
    /// `timeout` rather than hanging the suite.
    func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + scaled(timeout)
        while !(await condition()) {
            if ContinuousClock.now > deadline { Issue.record("timed out waiting for \(what)"); return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// What `handle`'s precondition guards: the transform stage gives every record of a batch
    /// one outcome, in record order, on both sides of the split into two tasks (at 64 records),
    /// and the hand-off passes them over whole, once.
    @Test(arguments: [0, 1, 63, 64, 65, 1_000])
    func everyRecordOfABatchGetsItsOutcomeInOrder(records: Int) async {
        let mapper = EventMapper(environment: .production, identityKey: "customerid",
                                 router: FeedRouter(configuredFeeds: [.unbound], apps: [:]), selection: EventSelection())
        let transform = RecordTransform(mapper: mapper, maxAgeMs: .max, historicalAfterMs: .max)
        let messages = (0..<records).map { message(Int64($0), envelope("e\($0)")) }
        let handOff = OutcomeHandOff()
        await Task { handOff.put(await RelayPipeline.apply(transform, to: messages, wallNow: 1_700_000_000_000)) }.value
        let outcomes = handOff.take().joined()
        #expect(outcomes.count == records)
        #expect(outcomes.map { $0.sends.first?.eventID } == (0..<records).map { "e\($0)" })
        #expect(handOff.take().isEmpty, "a second take finds nothing")
    }

    @Test func noOffsetIsStoredUntilMParticleAccepts() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        api.status.withLockedValue { $0 = 503 }
        let pipeline = makePipeline(source: source, api: api)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages((0..<10).map { message(Int64($0), envelope("id-\($0)")) }))
        try await waitFor("several refused attempts") { api.calls.withLockedValue { $0 } >= 5 }
        #expect(source.storedOffsets[partition] == nil)
        api.status.withLockedValue { $0 = 202 }
        try await waitFor("the watermark to reach the end") { source.storedOffsets[partition] == 10 }
        #expect(Set(api.acceptedIDs.withLockedValue { $0 }) == Set((0..<10).map { "id-\($0)" }))
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
        #expect(pipeline.stats.snapshot.retries >= 5)
    }

    @Test func skippedAndPoisonRecordsSettleAndAreCounted() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let deadLetters = MemoryDeadLetters()
        let pipeline = makePipeline(source: source, api: api, deadLetters: deadLetters)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages([
            message(0, envelope("anon", user: nil)),
            message(1, "not json"),
            message(2, nil),
            message(3, envelope("unknown", type: "users.messages.pigeon.Send")),
        ]))
        try await waitFor("skips to settle") { source.storedOffsets[partition] == 4 }
        let skipped = pipeline.stats.snapshot.skipped
        #expect(skipped[.noExternalUserID] == 1)
        // A tombstone carries no event: skipped and counted, not parked.
        #expect(skipped[.emptyRecord] == 1)
        #expect(pipeline.stats.snapshot.parked[.poison] == 1)
        #expect(deadLetters.records.map { $0.0.offset } .sorted() == [1])
        #expect(deadLetters.records.allSatisfy { $0.1.reason == .poison && !$0.1.message.isEmpty })
        #expect(skipped[.unsupportedEventType] == 1)
        #expect(api.calls.withLockedValue { $0 } == 0)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    @Test func aRecordOfManyEventsSettlesWhenAllAreAccepted() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let deadLetters = MemoryDeadLetters()
        let pipeline = makePipeline(source: source, api: api, deadLetters: deadLetters)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        let body = "{\"events\":[\(envelope("a")),\(envelope("b")),{\"broken\":true},\(envelope("c", user: "u-2"))]}"
        source.continuation.yield(.messages([message(7, body)]))
        try await waitFor("the record to settle") { source.storedOffsets[partition] == 8 }
        #expect(Set(api.acceptedIDs.withLockedValue { $0 }) == ["a", "b", "c"])
        #expect(pipeline.stats.snapshot.parked[.poison] == 1)
        #expect(deadLetters.records.first?.1.eventID == "events[2]")
        #expect(deadLetters.records.first?.0.value == Array(body.utf8))
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    @Test func resultsForARevokedPartitionAreNotStored() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        api.status.withLockedValue { $0 = 503 }
        let pipeline = makePipeline(source: source, api: api)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages([message(0, envelope("r"))]))
        try await waitFor("an attempt") { api.calls.withLockedValue { $0 } >= 1 }
        source.continuation.yield(.revoked([partition]))
        // The revocation reaches the actor through the transform stage: wait until it has.
        try await waitFor("the revocation") { pipeline.stats.snapshot.rebalances >= 2 }
        api.status.withLockedValue { $0 = 202 }
        try await waitFor("the late 202") { !api.acceptedIDs.withLockedValue { $0 }.isEmpty }
        try await Task.sleep(for: .milliseconds(50))
        #expect(source.storedOffsets[partition] == nil)
        #expect(pipeline.stats.snapshot.resultsForRevokedPartitions == 1)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// A revocation sends the revoked partition's batched events first, and only those: the
    /// other partition's batches stay open. Flushing every batch to the back of the queue made
    /// the drain wait for the whole window, past its timeout under a rate limit.
    /// Also for events older than 30 days, which wait in the feed's historical pool.
    @Test(arguments: [false, true])
    func aRevocationSendsTheRevokedPartitionsEventsFirstAndOnlyThose(historical: Bool) async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let pipeline = makeTestPipeline(source: source, api: api, feeds: [.unbound],
                                        settings: .init(lingerMs: 600_000, maxInFlightRequestsPerFeed: 1, maxInFlightMessages: 1000))
        let run = Task { await pipeline.run() }
        let kept = TopicPartition("braze.currents", 1)
        source.continuation.yield(.assigned([partition, kept]))
        // The kept partition's batches are the oldest in the pool: flushed in order, they would go first.
        let time = Int64(Date().timeIntervalSince1970) - (historical ? 40 * 86_400 : 60)
        source.continuation.yield(.messages((0..<2).map { message(Int64($0), envelope("k-\($0)", time: time, user: "u-k\($0)"), in: kept) }))
        source.continuation.yield(.messages((0..<2).map { message(Int64($0), envelope("r-\($0)", time: time, user: "u-r\($0)")) }))
        try await waitFor("4 records in the pipeline") { await pipeline.pendingRecords >= 4 }
        await pipeline.drain([partition], timeout: scaled(.seconds(30)))
        #expect(api.acceptedIDs.withLockedValue { $0 }.sorted() == ["r-0", "r-1"])
        #expect(api.historicalIDs.withLockedValue { $0 }.sorted() == (historical ? ["r-0", "r-1"] : []))
        #expect(source.storedOffsets[partition] == 2)
        #expect(source.storedOffsets[kept] == nil)
        #expect(await pipeline.pendingRecords == 2)
        await pipeline.shutdown(timeout: .seconds(5))
        await run.value
        #expect(api.acceptedIDs.withLockedValue { $0 }.sorted() == ["k-0", "k-1", "r-0", "r-1"])
        #expect(source.storedOffsets[kept] == 2)
    }

    /// Work of a revoked partition that was never sent is dropped when the revocation lands:
    /// queued by a drain that timed out, or still in the pool when partitions are lost without
    /// one. The new owner sends those events from the committed offset, so sending them as well
    /// only spent the rate limit on duplicates.
    /// Both for recent events and for events older than 30 days (the feed's historical pool).
    @Test(arguments: [true, false], [false, true])
    func aRevokedPartitionsUnsentEventsAreNotSentAfterTheRevocation(drained: Bool, historical: Bool) async throws {
        let time = Int64(Date().timeIntervalSince1970) - (historical ? 40 * 86_400 : 60)
        let source = FakeSource()
        let api = GatedAPI()
        let pipeline = makeTestPipeline(source: source, api: api, feeds: [.unbound],
                                        settings: .init(lingerMs: 10, maxInFlightRequestsPerFeed: 1, maxInFlightMessages: 1000))
        let run = Task { await pipeline.run() }
        let kept = TopicPartition("braze.currents", 1)
        source.continuation.yield(.assigned([partition, kept]))
        source.continuation.yield(.messages([message(0, envelope("r-0", time: time, user: "u-0"))]))
        try await waitFor("the first request to hold the feed's one send slot") { api.received.count == 1 }
        // Behind it, in the pool: r-1 alone, and r-2 in the kept partition's batch of user u-2.
        source.continuation.yield(.messages([message(1, envelope("r-1", time: time, user: "u-1"))]))
        source.continuation.yield(.messages([message(0, envelope("k-0", time: time, user: "u-2"), in: kept)]))
        source.continuation.yield(.messages([message(2, envelope("r-2", time: time, user: "u-2"))]))
        try await waitFor("4 records in the pipeline") { await pipeline.pendingRecords >= 4 }
        if drained {
            // The drain queues the revoked partition's batches (u-2's whole) and times out: the
            // one send slot stays taken.
            await pipeline.drain([partition], timeout: .milliseconds(50))
        }
        source.continuation.yield(.revoked([partition]))
        try await waitFor("the revocation") { pipeline.stats.snapshot.rebalances >= 2 }
        api.isOpen.withLockedValue { $0 = true }
        try await waitFor("the kept partition's event to settle") { source.storedOffsets[kept] == 1 }
        try await Task.sleep(for: .milliseconds(100))
        // r-0 was in flight and went; r-1 and r-2 were not sent, and are not sent now.
        let sent = api.received.flatMap { $0.flatMap { $0 } }
        #expect(sent.sorted() == ["k-0", "r-0"])
        #expect(await pipeline.pendingRecords == 0)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// A batch that has lingered while the feed could not send stays open: later events of its
    /// user join it instead of waiting in sealed requests of their own (the grouping that matters
    /// under mParticle's rate limit).
    @Test func lingeredBatchesKeepGrowingWhileTheFeedCannotSend() async throws {
        let (source, api, _, clock, pipeline, run) = try await startWithTheOneSlotHeld()
        // One record at a time, each for four times the linger time on the pipeline's clock (its
        // ticker has run): each would have been its own request had lingered batches been sealed
        // while the slot was busy.
        for offset in 1...6 {
            source.continuation.yield(.messages([message(Int64(offset), envelope("e-\(offset)", user: offset.isMultiple(of: 2) ? "u-a" : "u-b"))]))
            try await waitFor("record \(offset) in the pipeline") { await pipeline.pendingRecords >= offset + 1 }
            try await clock.tick(by: .milliseconds(40))
        }
        #expect(api.received.count == 1)
        api.isOpen.withLockedValue { $0 = true }
        try await waitFor("all settled") { source.storedOffsets[partition] == 7 }
        let requests = api.received
        #expect(requests.count == 2)
        #expect(requests.dropFirst().first?.sorted { $0[0] < $1[0] } == [["e-1", "e-3", "e-5"], ["e-2", "e-4", "e-6"]])
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// Below the in-flight cap, batches wait the linger time for more events; at the cap, intake
    /// pauses, no event can join them any more, and they go out at once: waiting would stall the
    /// pipeline for the linger time (ten minutes here) with every partition paused.
    @Test func batchesGoOutWithoutLingeringOnceTheInFlightCapPausesIntake() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let clock = DrivenClock()
        let pipeline = makeTestPipeline(source: source, api: api, feeds: [.unbound],
                                        settings: .init(lingerMs: 600_000, maxInFlightRequestsPerFeed: 4, maxInFlightMessages: 4), clock: clock)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages((0..<3).map { message(Int64($0), envelope("e-\($0)", user: "u-\($0)")) }))
        try await waitFor("3 records in the pipeline") { await pipeline.pendingRecords >= 3 }
        // Four ticks of the pipeline pass (200 ms on its clock): the batches linger.
        try await clock.tick(by: .milliseconds(50), times: 4)
        #expect(api.calls.withLockedValue { $0 } == 0)
        #expect(!source.paused.withLockedValue { $0 })
        source.continuation.yield(.messages([message(3, envelope("e-3", user: "u-3"))]))
        try await waitFor("the capped pipeline to send and settle") { source.storedOffsets[partition] == 4 }
        #expect(Set(api.acceptedIDs.withLockedValue { $0 }) == ["e-0", "e-1", "e-2", "e-3"])
        try await waitFor("intake to resume") { !source.paused.withLockedValue { $0 } }
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// A pipeline on the unbound feed with one send slot, held by a first request (offset 0) that
    /// the gated API keeps until the test opens it; its clock moves only when the test moves it.
    func startWithTheOneSlotHeld() async throws -> (FakeSource, GatedAPI, MemoryDeadLetters, DrivenClock, RelayPipeline, Task<Void, Never>) {
        let source = FakeSource()
        let api = GatedAPI()
        let deadLetters = MemoryDeadLetters()
        let clock = DrivenClock()
        let pipeline = makeTestPipeline(source: source, api: api, deadLetters: deadLetters, feeds: [.unbound],
                                        settings: .init(lingerMs: 10, maxInFlightRequestsPerFeed: 1, maxInFlightMessages: 1000), clock: clock)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages([message(0, envelope("first", user: "u-0"))]))
        try await waitFor("the first record in the pipeline") { await pipeline.pendingRecords >= 1 }
        try await clock.tick(by: .milliseconds(10))
        try await waitFor("the first request to hold the feed's one send slot") { api.received.count == 1 }
        return (source, api, deadLetters, clock, pipeline, run)
    }

    /// Events waiting in a feed's pool while its send slots are taken are parked when they pass
    /// the age limit, as queued ones are: the sweep looks in the pools too. The pipeline's wall
    /// clock moves only when the test moves it, so a slow machine cannot age anything early.
    @Test func eventsWaitingInThePoolAreParkedAtTheAgeLimit() async throws {
        let (source, api, deadLetters, clock, pipeline, run) = try await startWithTheOneSlotHeld()
        source.continuation.yield(.messages((1...3).map { message(Int64($0), envelope("waiting-\($0)", user: $0 == 2 ? "u-b" : "u-a")) }))
        try await waitFor("4 records in the pipeline") { await pipeline.pendingRecords >= 4 }
        // Two sweeps (a second apart on the pipeline's clock), within the age limit.
        try await clock.tick(by: .seconds(1), times: 2)
        #expect(deadLetters.records.isEmpty && api.received.count == 1, "the waiting events wait")
        clock.advance(by: .seconds(49 * 3600))
        try await waitFor("the waiting events parked") { deadLetters.records.count == 3 }
        #expect(deadLetters.records.map(\.1.reason) == [.expired, .expired, .expired])
        #expect(Set(deadLetters.records.map(\.0.offset)) == [1, 2, 3])
        #expect(deadLetters.records.allSatisfy { $0.1.message.hasPrefix("not accepted by mParticle within 48.0 h") }, "\(deadLetters.records.map(\.1.message))")
        #expect(api.received.count == 1, "the parked events were not sent")
        api.isOpen.withLockedValue { $0 = true }
        try await waitFor("all settled") { source.storedOffsets[partition] == 4 }
        #expect(api.received.count == 1)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// The pipeline keeps no record's bytes: an event parked after it was batched is parked as
    /// its record read again from the source, unchanged; a record gone from the source meanwhile
    /// (retention) is parked as the event's mParticle batch, marked, counted, and settled.
    @Test func eventsParkedAfterBatchingAreParkedAsTheirRecordsReadAgain() async throws {
        let (source, api, deadLetters, clock, pipeline, run) = try await startWithTheOneSlotHeld()
        let waiting = (1...3).map {
            KafkaMessage(topicPartition: partition, offset: Int64($0), timestampMs: clock.wallMilliseconds() - Int64($0), key: Array("key-\($0)".utf8),
                         value: Array(envelope("waiting-\($0)", user: "u-\($0)").utf8), headers: [KafkaHeader(key: "trace", string: "t\($0)")])
        }
        source.continuation.yield(.messages(waiting))
        try await waitFor("4 records in the pipeline") { await pipeline.pendingRecords >= 4 }
        source.forget(partition, offset: 2)
        clock.advance(by: .seconds(49 * 3600))
        try await waitFor("the waiting events parked") { deadLetters.records.count == 3 }
        api.isOpen.withLockedValue { $0 = true }
        try await waitFor("all settled") { source.storedOffsets[partition] == 4 }
        let parked = Dictionary(uniqueKeysWithValues: deadLetters.records.map { ($0.0.offset, $0) })
        #expect(Set(source.rereads.withLockedValue { $0 }.flatMap { $0[partition] ?? [] }) == [1, 2, 3])
        for offset in [1, 3] as [Int64] {
            let (record, details) = try #require(parked[offset])
            let original = waiting[Int(offset) - 1]
            #expect(record.value == original.value && record.key == original.key && record.headers == original.headers)
            #expect(record.timestampMs == original.timestampMs && !details.originalGone)
            #expect(!DeadLetterHeaders.headers(for: record, details).contains { $0.key == DeadLetterHeaders.originalHeader })
        }
        let (standIn, details) = try #require(parked[2])
        #expect(details.originalGone && details.reason == .expired && details.feed == .unbound)
        #expect(standIn.key == nil && standIn.headers.isEmpty && standIn.timestampMs == waiting[1].timestampMs)
        #expect(standIn.topicPartition == partition)
        let batch = try #require(try JSONSerialization.jsonObject(with: Data(standIn.value ?? [])) as? [String: Any])
        let events = try #require(batch["events"] as? [[String: Any]])
        #expect(events.count == 1 && (events[0]["data"] as? [String: Any])?["source_message_id"] as? String == "waiting-2")
        #expect((batch["user_identities"] as? [String: Any])?["customerid"] as? String == "u-2")
        #expect(DeadLetterHeaders.headers(for: standIn, details).contains { $0.key == "currents.relay.original" && $0.stringValue == "gone" })
        let stats = pipeline.stats.snapshot
        #expect(stats.parked[.expired] == 3 && stats.parkedWithoutOriginal == [.expired: 1] && stats.recordsReread == 3)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// Reads of the records to park that fail are tried again, counted, and hold the offsets
    /// meanwhile; once a read succeeds the events are parked and their offsets move.
    @Test func failedReadsOfRecordsToParkAreRetriedAndHoldTheOffsets() async throws {
        let (source, api, deadLetters, clock, pipeline, run) = try await startWithTheOneSlotHeld()
        source.failingRereads.withLockedValue { $0 = 2 }
        source.continuation.yield(.messages([message(1, envelope("waiting", user: "u-1"))]))
        try await waitFor("2 records in the pipeline") { await pipeline.pendingRecords >= 2 }
        clock.advance(by: .seconds(49 * 3600))
        try await waitFor("two failed reads") { pipeline.stats.snapshot.rereadFailures == 2 }
        #expect(deadLetters.records.isEmpty && source.storedOffsets[partition] == nil, "nothing parked or committed while the read fails")
        try await waitFor("the event parked after the third read") { deadLetters.records.count == 1 }
        #expect(deadLetters.records.first?.0.value == Array(envelope("waiting", user: "u-1").utf8))
        #expect(deadLetters.records.first?.1.originalGone == false)
        #expect(source.rereads.withLockedValue { $0.count } == 3)
        api.isOpen.withLockedValue { $0 = true }
        try await waitFor("all settled") { source.storedOffsets[partition] == 2 }
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    /// Intake pauses once the records in flight reach the cap and resumes at half of it. One
    /// request at a time, 100 events each (one user per event): the records settle in order, so
    /// the offsets stored when intake resumes say how many were still in flight then.
    @Test func theInFlightCapPausesAndResumes() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        api.status.withLockedValue { $0 = 503 }
        let pipeline = makeTestPipeline(source: source, api: api, feeds: [.unbound],
                                        settings: .init(lingerMs: 10, maxInFlightRequestsPerFeed: 1, maxInFlightMessages: 300))
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages((0..<400).map { message(Int64($0), envelope("p-\($0)", user: "u-\($0)")) }))
        try await waitFor("pause") { source.paused.withLockedValue { $0 } }
        let atPause = await pipeline.pendingRecords
        #expect(atPause >= 300, "paused with \(atPause) records in flight; the cap is 300")
        #expect(await pipeline.isPaused)
        api.status.withLockedValue { $0 = 202 }
        try await waitFor("all settled") { source.storedOffsets[partition] == 400 }
        // Resumed once, when 100 records were left (the low-water mark is 150): after the third
        // request, not the second (200 left, under the cap but over half of it).
        #expect(source.storedAtResume.withLockedValue { $0 }.map { $0[partition] } == [300])
        #expect(Set(api.acceptedIDs.withLockedValue { $0 }).count == 400)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }
}

/// Replay and redrive settings of the pipeline.
extension PipelineTests {
    func envelope(_ id: String, time: Int64, user: String = "u-1") -> String {
        "{\"event_type\":\"users.messages.email.Send\",\"id\":\"\(id)\",\"time\":\(time),\"user\":{\"external_user_id\":\"\(user)\"},\"properties\":{\"email_address\":\"a@b.c\"}}"
    }

    @Test func eventsOlderThanThirtyDaysGoToTheHistoricalEndpoint() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let pipeline = makePipeline(source: source, api: api)
        let run = Task { await pipeline.run() }
        let now = Int64(Date().timeIntervalSince1970)
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages([message(0, envelope("recent", time: now - 60)), message(1, envelope("old", time: now - 40 * 86_400))]))
        try await waitFor("both to settle") { source.storedOffsets[partition] == 2 }
        #expect(Set(api.acceptedIDs.withLockedValue { $0 }) == ["recent", "old"])
        #expect(api.historicalIDs.withLockedValue { $0 } == ["old"])
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }

    @Test func replayedRecordsCountTheirAgeFromWhenTheyWereRead() async throws {
        // A record from last week: `run` parks it as expired; a replay sends it.
        let weekAgo = Int64(Date().timeIntervalSince1970 * 1000) - 7 * 86_400_000
        for replay in [false, true] {
            let source = FakeSource()
            let api = ScriptedAPI()
            let deadLetters = MemoryDeadLetters()
            var settings = RelayPipeline.Settings(lingerMs: 10)
            settings.ageFromFirstRead = replay
            let pipeline = makeTestPipeline(source: source, api: api, deadLetters: deadLetters, feeds: [.unbound], settings: settings)
            let run = Task { await pipeline.run() }
            source.continuation.yield(.assigned([partition]))
            source.continuation.yield(.messages([KafkaMessage(topicPartition: partition, offset: 0, timestampMs: weekAgo, key: nil,
                                                              value: Array(envelope("e", time: weekAgo / 1000).utf8))]))
            try await waitFor("the record to settle") { source.storedOffsets[partition] == 1 }
            #expect(api.acceptedIDs.withLockedValue { $0 } == (replay ? ["e"] : []))
            #expect(deadLetters.records.map(\.1.reason) == (replay ? [] : [.expired]))
            await pipeline.shutdown(timeout: .seconds(1))
            await run.value
        }
    }

    @Test func aRedrivenPerEventRecordSendsOnlyTheParkedEvent() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        var settings = RelayPipeline.Settings(lingerMs: 10)
        settings.redrive = true
        settings.ageFromFirstRead = true
        settings.recordFilter = { $0.header(DeadLetterHeaders.reasonHeader)?.stringValue != "poison" }
        let pipeline = makeTestPipeline(source: source, api: api, feeds: [.unbound], settings: settings)
        let run = Task { await pipeline.run() }
        let body = "{\"events\":[\(envelope("a")),\(envelope("b")),\(envelope("c"))]}"
        func parked(_ offset: Int64, reason: String, eventID: String?) -> KafkaMessage {
            var headers = [KafkaHeader(key: DeadLetterHeaders.reasonHeader, string: reason), KafkaHeader(key: DeadLetterHeaders.topicHeader, string: "braze.currents")]
            if let eventID { headers.append(KafkaHeader(key: DeadLetterHeaders.eventIDHeader, string: eventID)) }
            return KafkaMessage(topicPartition: partition, offset: offset, timestampMs: 1, key: nil, value: Array(body.utf8), headers: headers)
        }
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages([parked(0, reason: "rejected", eventID: "b"), parked(1, reason: "poison", eventID: nil),
                                             parked(2, reason: "expired", eventID: nil)]))
        try await waitFor("the records to settle") { source.storedOffsets[partition] == 3 }
        var counts: [String: Int] = [:]
        for id in api.acceptedIDs.withLockedValue({ $0 }) { counts[id, default: 0] += 1 }
        // Offset 0: only "b"; offset 1: filtered out; offset 2: the whole record.
        #expect(counts == ["a": 1, "b": 2, "c": 1])
        #expect(pipeline.stats.snapshot.skipped[.filtered] == 1)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }
}
