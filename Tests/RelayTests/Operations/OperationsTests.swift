import Foundation
import Kafka
import Logging
import Testing
@testable import Relay

/// A cluster in memory for the offset commands' planning logic.
struct FakeLookup: OffsetLookup {
    var topics: [String: Int] = ["braze.currents": 3]
    var low: [TopicPartition: Int64] = [:]
    var high: [TopicPartition: Int64] = [:]
    var committedOffsets: [TopicPartition: Int64] = [:]
    /// Per partition, record timestamps by offset (for offsets-for-times).
    var timestamps: [TopicPartition: [Int64: Int64]] = [:]

    func topicNames() throws -> [String] { topics.keys.sorted() }
    func partitions(of topic: String) throws -> [TopicPartition] {
        (0..<Int32(topics[topic] ?? 0)).map { TopicPartition(topic, $0) }
    }
    func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64) { (low[partition] ?? 0, high[partition] ?? 0) }
    func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?] {
        Dictionary(uniqueKeysWithValues: partitions.map { ($0, committedOffsets[$0]) })
    }
    /// As Kafka answers: the first offset whose timestamp is at or after the time, else -1.
    func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        times.mapValues { _ in -1 }.merging(times.map { partition, time in
            (partition, timestamps[partition, default: [:]].filter { $0.value >= time }.keys.min() ?? -1)
        }) { $1 }
    }
}

@Suite(.timeLimit(.minutes(10))) struct OperationsTests {
    let p0 = TopicPartition("braze.currents", 0)
    let p1 = TopicPartition("braze.currents", 1)
    let p2 = TopicPartition("braze.currents", 2)

    var lookup: FakeLookup {
        var lookup = FakeLookup()
        lookup.low = [p0: 10, p1: 0, p2: 0]
        lookup.high = [p0: 100, p1: 50, p2: 0]
        lookup.committedOffsets = [p0: 90, p1: 20]
        // One record per offset, a second apart from t = 1,000,000 ms.
        for partition in [p0, p1] {
            let range = lookup.low[partition]!..<lookup.high[partition]!
            lookup.timestamps[partition] = Dictionary(uniqueKeysWithValues: range.map { ($0, 1_000_000 + $0 * 1000) })
        }
        return lookup
    }

    @Test func partitionOffsetsParseWithAndWithoutTopic() throws {
        #expect(try PartitionOffset.parseList("0:100, 1:250", option: "--from-offset") == [
            PartitionOffset(partition: 0, offset: 100), PartitionOffset(partition: 1, offset: 250),
        ])
        #expect(try PartitionOffset.parseList("braze.currents:2:7", option: "--from-offset") == [PartitionOffset(topic: "braze.currents", partition: 2, offset: 7)])
        for bad in ["0", "a:1", "0:-1", "0:1:2:3", ""] {
            #expect(throws: OffsetArgumentError.self, "\(bad)") { _ = try PartitionOffset.parseList(bad, option: "--from-offset") }
        }
    }

    @Test func timeArgumentsAreISO8601OrADurationBack() throws {
        #expect(try TimeArgument.parse("2026-11-28T06:00:00Z", option: "--from-time", nowMs: 0) == 1_795_845_600_000)
        #expect(try TimeArgument.parse("6h", option: "--since", nowMs: 100_000_000) == 100_000_000 - 6 * 3_600_000)
        #expect(throws: OffsetArgumentError.self) { try TimeArgument.parse("yesterday", option: "--since", nowMs: 0) }
        #expect(throws: OffsetArgumentError.self) { try TimeArgument.parse("12", option: "--since", nowMs: 0) }
    }

    @Test func replayByOffsetsReadsOnlyTheListedPartitionsWithinTheLog() throws {
        let plan = try ReplayPlan.make(topics: ["braze.currents"], start: .offsets([.init(partition: 0, offset: 5), .init(partition: 1, offset: 20)]),
                                       end: .offsets([.init(partition: 1, offset: 30)]), only: nil, lookup: lookup)
        #expect(plan.ranges == [.init(partition: p0, start: 10, end: 100), .init(partition: p1, start: 20, end: 30)])
        #expect(plan.total == 100)
        #expect(plan.notes == ["braze.currents[0]: offset 5 is before the log start 10; starting at 10"])
        #expect(throws: OffsetArgumentError.self) {
            try ReplayPlan.make(topics: ["braze.currents"], start: .offsets([.init(partition: 7, offset: 0)]), end: .latest, only: nil, lookup: lookup)
        }
        #expect(throws: OffsetArgumentError.self) {
            try ReplayPlan.make(topics: ["braze.currents"], start: .offsets([.init(partition: 0, offset: 0)]),
                                end: .offsets([.init(partition: 1, offset: 9)]), only: nil, lookup: lookup)
        }
    }

    @Test func replayByTimeUsesOffsetsForTimesForBothEnds() throws {
        // From t = 1,030,000 (offset 30 on both) until t = 1,040,000 (offset 40); p2 is empty.
        let plan = try ReplayPlan.make(topics: ["braze.currents"], start: .time(1_030_000), end: .time(1_040_000), only: nil, lookup: lookup)
        #expect(plan.ranges == [.init(partition: p0, start: 30, end: 40), .init(partition: p1, start: 30, end: 40), .init(partition: p2, start: 0, end: 0)])
        // A time after every record: nothing to read (the lookup answers -1, "none").
        let late = try ReplayPlan.make(topics: ["braze.currents"], start: .time(9_000_000), end: .latest, only: [0], lookup: lookup)
        #expect(late.ranges == [.init(partition: p0, start: 100, end: 100)])
        #expect(late.total == 0)
        #expect(throws: OffsetArgumentError.self) {
            try ReplayPlan.make(topics: ["braze.currents"], start: .time(0), end: .latest, only: [9], lookup: lookup)
        }
    }

    @Test func resetPlansClampToTheLog() throws {
        func plan(_ target: OffsetResetPlan.Target) throws -> [TopicPartition: Int64] {
            try OffsetResetPlan.make(topics: ["braze.currents"], only: nil, target: target, lookup: lookup).offsets
        }
        #expect(try plan(.earliest) == [p0: 10, p1: 0, p2: 0])
        #expect(try plan(.latest) == [p0: 100, p1: 50, p2: 0])
        #expect(try plan(.shift(-85)) == [p0: 10, p1: 0, p2: 0])
        #expect(try plan(.shift(5)) == [p0: 95, p1: 25, p2: 0])
        #expect(try plan(.shift(500)) == [p0: 100, p1: 50, p2: 0])
        #expect(try plan(.time(1_045_500)) == [p0: 46, p1: 46, p2: 0])
        let rows = try OffsetResetPlan.make(topics: ["braze.currents"], only: [1], target: .earliest, lookup: lookup).rows
        #expect(rows == [.init(partition: p1, current: 20, new: 0, low: 0, high: 50)])
        let table = OffsetTables.render(OffsetResetPlan(rows: rows), group: "g")
        #expect(table.contains("braze.currents  1          20              0           -20"))
    }

    @Test func groupOffsetsComputeLag() throws {
        let offsets = try GroupOffsets.read(topics: ["braze.currents"], only: nil, lookup: lookup)
        #expect(offsets.rows.map(\.lag) == [10, 30, 0])
        #expect(offsets.totalLag == 40)
        let table = OffsetTables.render(offsets, group: "g")
        #expect(table.contains("total lag 40 over 3 partitions (2 with a committed offset)"))
    }

    @Test func regexTopicsResolveAgainstTheCluster() throws {
        var lookup = FakeLookup()
        lookup.topics = ["braze.currents.a": 1, "braze.currents.b": 1, "other": 1]
        #expect(try TopicResolver.resolve(["^braze\\.currents\\..*"], lookup: lookup) == ["braze.currents.a", "braze.currents.b"])
        #expect(try TopicResolver.resolve(["plain"], lookup: lookup) == ["plain"])
    }

    func parked(_ reason: String, feed: String?, parkedMs: Int64, offset: Int64, extra: [KafkaHeader] = []) -> KafkaMessage {
        var headers = [KafkaHeader(key: DeadLetterHeaders.reasonHeader, string: reason), KafkaHeader(key: DeadLetterHeaders.parkedHeader, string: String(parkedMs))]
        if let feed { headers.append(KafkaHeader(key: DeadLetterHeaders.feedHeader, string: feed)) }
        return KafkaMessage(topicPartition: TopicPartition("dlq", 0), offset: offset, timestampMs: parkedMs, key: nil,
                            value: Array("{}".utf8), headers: headers + extra)
    }

    @Test func deadLetterSummaryCountsByReasonFeedAndAge() {
        let now: Int64 = 100 * 86_400_000
        var summary = DeadLetterSummary()
        summary.add(parked("expired", feed: "ios", parkedMs: now - 60_000, offset: 0), nowMs: now)
        summary.add(parked("expired", feed: "ios", parkedMs: now - 2 * 3_600_000, offset: 1), nowMs: now)
        summary.add(parked("rejected", feed: "web", parkedMs: now - 3 * 86_400_000, offset: 2), nowMs: now)
        summary.add(parked("poison", feed: nil, parkedMs: now - 40 * 86_400_000, offset: 3,
                           extra: [KafkaHeader(key: DeadLetterHeaders.originalHeader, string: "gone")]), nowMs: now)
        summary.add(KafkaMessage(topicPartition: TopicPartition("dlq", 0), offset: 4, timestampMs: now, key: nil, value: nil), nowMs: now)
        #expect(summary.total == 5)
        #expect(summary.byReason == ["expired": 2, "rejected": 1, "poison": 1, "(no reason header)": 1])
        #expect(summary.byFeed == ["ios": 2, "web": 1, "none": 1])
        #expect(summary.byAge == ["< 1h": 1, "1h-24h": 1, "1d-7d": 1, ">= 30d": 1])
        #expect(summary.oldest?.offset == 3)
        #expect(summary.newest?.offset == 0)
        #expect(summary.foreign == 1)
        #expect(summary.withoutOriginal == 1)
        let text = summary.render(topic: "dlq")
        #expect(text.contains("1 record(s) were parked without their source record"))
        #expect(text.contains("dead-letter topic dlq: 5 record(s)"))
        #expect(text.contains("  expired               2"))
    }

    @Test func shownRecordsRedactSecretLookingHeaders() {
        let message = parked("rejected", feed: "ios", parkedMs: 0, offset: 9, extra: [
            KafkaHeader(key: "Authorization", string: "Basic c2VjcmV0"), KafkaHeader(key: "x-api-token", string: "tok-123"),
        ])
        let text = DeadLetterSummary.describe(message)
        #expect(text.contains("currents.relay.reason: rejected"))
        #expect(text.contains("Authorization: [redacted]"))
        #expect(!text.contains("c2VjcmV0") && !text.contains("tok-123"))
    }

    @Test func aReparkedRecordKeepsItsOriginAndItsHistory() {
        let source = KafkaMessage(topicPartition: TopicPartition("braze.currents", 4), offset: 77, timestampMs: 1, key: nil, value: Array("{}".utf8),
                                  headers: [KafkaHeader(key: "trace", string: "t-1")])
        let first = DeadLetterHeaders.headers(for: source, DeadLetterDetails(reason: .expired, message: "too old", feed: .ios, httpStatus: 401, parkedMs: 1000))
        let parkedOnce = KafkaMessage(topicPartition: TopicPartition("braze.currents.dlq", 0), offset: 3, timestampMs: 1000, key: nil,
                                      value: source.value, headers: first)
        let second = DeadLetterHeaders.headers(for: parkedOnce, DeadLetterDetails(reason: .rejected, message: "bad", feed: .ios, httpStatus: 400, parkedMs: 2000))
        func value(_ key: String) -> String? { second.last { $0.key == key }?.stringValue }
        #expect(value(DeadLetterHeaders.topicHeader) == "braze.currents")
        #expect(value(DeadLetterHeaders.partitionHeader) == "4")
        #expect(value(DeadLetterHeaders.offsetHeader) == "77")
        #expect(value(DeadLetterHeaders.reasonHeader) == "rejected")
        #expect(value(DeadLetterHeaders.redriveCountHeader) == "1")
        #expect(value(DeadLetterHeaders.historyHeader) == "reason=expired; feed=ios; status=401; first_attempt_ms=-; parked_ms=1000; message=too old")
        #expect(value("trace") == "t-1")
        #expect(second.filter { $0.key == DeadLetterHeaders.reasonHeader }.count == 1)
    }

    @Test func progressLinesShowRateAndETA() {
        let bar = ProgressLine.render(label: "replay", settled: 500, total: 1000, events: 480, elapsedSeconds: 10, bar: true)
        #expect(bar == "replay [###############...............]  50.0% 500/1000 records, 480 events sent, 50 records/s, ETA 10s")
        let line = ProgressLine.render(label: "redrive", settled: 0, total: 10, events: 0, elapsedSeconds: 0, bar: false)
        #expect(line == "redrive:   0.0% 0/10 records, 0 events sent, 0 records/s, ETA ?")
    }

    @Test func statisticsGiveLagOfFetchedPartitionsAndBrokerState() {
        let json = """
        {"brokers":{"b1":{"nodeid":1,"state":"UP"},"boot":{"nodeid":-1,"state":"UP"},"b2":{"nodeid":2,"state":"DOWN"}},
         "topics":{"t":{"partitions":{"0":{"partition":0,"fetch_state":"active","consumer_lag":5,"consumer_lag_stored":7},
                                      "1":{"partition":1,"fetch_state":"none","consumer_lag":3},
                                      "-1":{"partition":-1,"consumer_lag":-1},
                                      "2":{"partition":2,"fetch_state":"active","consumer_lag":4,"consumer_lag_stored":-1}}}}}
        """
        let statistics = KafkaStatistics.parse(Array(json.utf8))
        #expect(statistics == KafkaStatistics(lag: [TopicPartition("t", 0): 7, TopicPartition("t", 2): 4], brokersUp: 1))
        #expect(KafkaStatistics.parse(Array("[]".utf8)) == nil)
    }

    @Test func theDefaultRedriveGroupDependsOnTheFilter() {
        #expect(DeadLetterRedrive.defaultGroup(base: "g", reason: nil, since: nil) == "g.redrive")
        #expect(DeadLetterRedrive.defaultGroup(base: "g", reason: "expired", since: "2026-11-28T06:00:00Z") == "g.redrive.expired.since-2026-11-28T06-00-00Z")
    }
}

@Suite(.timeLimit(.minutes(10))) struct BoundedSourceTests {
    let p0 = TopicPartition("t", 0)
    let p1 = TopicPartition("t", 1)

    func message(_ partition: TopicPartition, _ offset: Int64) -> KafkaMessage {
        KafkaMessage(topicPartition: partition, offset: offset, timestampMs: nil, key: nil, value: nil)
    }

    @Test func passesOnlyTheRangeAndIsDoneWhenItIsSettled() async throws {
        let inner = FakeSource()
        let bounded = BoundedSource(inner: inner, starts: [p0: 5, p1: 0], ends: [p0: 8, p1: 2], forwardOffsets: false)
        inner.continuation.yield(.messages([message(p0, 5), message(p0, 6), message(p0, 7), message(p0, 8), message(p1, 0)]))
        var iterator = bounded.events.makeAsyncIterator()
        guard case .messages(let passed) = await iterator.next() else { Issue.record("no messages"); return }
        #expect(passed.map(\.offset) == [5, 6, 7, 0])
        #expect(bounded.progress == .init(settled: 0, total: 5, done: false))
        _ = bounded.storeOffsets([p0: 8])
        #expect(bounded.progress == .init(settled: 3, total: 5, done: false))
        // Not forwarded: a replay never stores offsets for the group.
        #expect(inner.storedOffsets.isEmpty)
        _ = bounded.storeOffsets([p1: 2])
        #expect(bounded.progress.done)
        await bounded.waitUntilDone()
    }

    @Test func anEmptyRangeIsDoneAtOnceAndRedriveForwardsOffsets() async {
        let inner = FakeSource()
        let empty = BoundedSource(inner: inner, starts: [p0: 3], ends: [p0: 3], forwardOffsets: true)
        await empty.waitUntilDone()
        let bounded = BoundedSource(inner: inner, starts: [p0: 0], ends: [p0: 4], forwardOffsets: true)
        _ = bounded.storeOffsets([p0: 4])
        #expect(inner.storedOffsets == [p0: 4])
        await bounded.waitUntilDone()
    }

    @Test func aGapAtTheEndStillFinishes() async throws {
        // Offsets 2 and 3 do not exist (a transaction marker, compaction): the next record is 4.
        let inner = FakeSource()
        let bounded = BoundedSource(inner: inner, starts: [p0: 0], ends: [p0: 4], forwardOffsets: false)
        inner.continuation.yield(.messages([message(p0, 0), message(p0, 1), message(p0, 4)]))
        var iterator = bounded.events.makeAsyncIterator()
        _ = await iterator.next()
        _ = bounded.storeOffsets([p0: 2])
        await bounded.waitUntilDone()
        #expect(bounded.progress.done)
    }
}
