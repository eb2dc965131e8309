import Currents
import Foundation
import Kafka
import MParticleSimulator
import Relay
import NIOConcurrencyHelpers
import Testing

/// Delivery that loses nothing, end to end over TCP: embedded broker, simulator, relay.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DeliveryEndToEndTests {
    @Test func randomServerErrorsLoseNothingAndCommitsNeverPassAnUnacceptedEvent() async throws {
        let harness = try await Harness.start(brokers: 3, partitions: 6)
        let records = SampleEvents(seed: 21, anonymousPercent: 0).records(count: 5000)
        let reports = try await harness.seed(records)
        let ends = try harness.endOffsets()
        // 30% of requests answer 503; 10% more stall past the relay's request timeout, which then
        // drops the connection (a transport error, like a reset).
        var behaviour = SimulatorState.Behaviour(failureRate: 0.3, failureStatus: 503, seed: 7)
        behaviour.slowRate = 0.1
        behaviour.slowLatencyMs = 1_500
        harness.simulator.state.setBehaviour(behaviour)
        // Which id sits at which offset, to check every committed offset against what mParticle accepted.
        var idAt: [TopicPartition: [Int64: String]] = [:]
        for (id, report) in reports { idAt[report.topicPartition, default: [:]][report.offset] = id }

        let (relay, task) = try harness.startRelay(group: "e2e-5xx") { $0.delivery.requestTimeoutMs = 500 }
        var checks = 0
        try await harness.waitUntil("committed offsets to reach the end", timeout: .seconds(120)) {
            let committed = try harness.committed(group: "e2e-5xx")
            // Read after the committed offsets: accepted ids only grow, so this never races.
            let accepted = Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID))
            for (partition, offset) in committed {
                guard let offset else { continue }
                for (position, id) in idAt[partition] ?? [:] where position < offset {
                    #expect(accepted.contains(id), "offset \(offset) committed on \(partition) past unaccepted event at \(position)")
                }
            }
            checks += 1
            return committed.allSatisfy { $0.value == ends[$0.key] }
        }
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        let accepted = Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID))
        #expect(accepted == Set(records.map(\.id)))
        #expect((harness.simulator.state.rejectedRequests[503] ?? 0) >= 5)
        #expect(relay.stats.snapshot.transportErrors >= 1)
        print("5xx: \(checks) checks during the run, \(harness.simulator.state.rejectedRequests[503] ?? 0) requests answered 503, \(relay.stats.snapshot.transportErrors) dropped by timeout, \(relay.stats.snapshot.retries) retries")
        await harness.stop()
    }

    @Test func retryAfterIsHonouredPerFeed() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        harness.simulator.state.setBehaviour(.init(statusScript: [429], retryAfterSeconds: 3), feed: "ios")
        let types = ["users.messages.pushnotification.Send"]
        let first = SampleEvents(seed: 22, anonymousPercent: 0, types: types).records(count: 90)
        try await harness.seed(first)
        let (relay, task) = try harness.startRelay(group: "e2e-429")
        try await harness.waitUntil("iOS answered 429") { harness.simulator.state.requestLog.contains { $0.feed == "ios" && $0.status == 429 } }
        // Records that arrive while iOS waits out its Retry-After: their Android and Web events
        // must not wait with it.
        let second = SampleEvents(seed: 23, anonymousPercent: 0, types: types).records(count: 90)
        try await harness.seed(second)
        let expected = first.count + second.count
        try await harness.waitUntil("every event accepted") { harness.simulator.state.totalAcceptedEvents == expected }
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        let log = harness.simulator.state.requestLog
        let ios = log.filter { $0.feed == "ios" }
        let throttled = try #require(ios.first { $0.status == 429 })
        let after = ios.filter { $0.atMs > throttled.atMs || ($0.atMs == throttled.atMs && $0.status != 429) }
        let retried = try #require(after.first, "iOS sent again after its 429")
        for request in after {
            #expect(request.atMs - throttled.atMs >= 3000, "an iOS request \(request.atMs - throttled.atMs) ms after the 429")
        }
        // The other feeds were not held back: they had requests accepted between iOS's 429 and
        // its retry, the events seeded after the 429 among them.
        let others = log.filter { $0.feed != "ios" && $0.status == 202 && $0.atMs > throttled.atMs && $0.atMs < retried.atMs }
        #expect(!others.isEmpty, "no request of another feed between iOS's 429 (\(throttled.atMs)) and its retry (\(retried.atMs)): \(log)")
        await harness.stop()
    }

    @Test func oneRefusedEventAmongTwoHundredIsParkedAsRejectedWithItsBytes() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        let records = SampleEvents(seed: 23, anonymousPercent: 0, users: 5000, types: ["users.messages.email.Send"]).records(count: 200)
        let marked = records[137]
        harness.simulator.state.setBehaviour(.init(rejectEventIDs: [marked.id]))
        // The relay keeps no record's bytes: the refused event's record is read again from Kafka
        // and parked unchanged (value, key, headers, timestamp), with the usual headers after.
        let producedAt = Int64(Date().timeIntervalSince1970 * 1000) - 1_234
        let sourceHeaders = [KafkaHeader(key: "trace-id", string: "t-42"), KafkaHeader(key: "empty", value: nil), KafkaHeader(key: "trace-id", string: "second")]
        try await harness.seed(records, partition: 0, timestampMs: producedAt, headers: sourceHeaders)
        let (relay, task) = try harness.startRelay(group: "e2e-400") { $0.delivery.lingerMs = 500 }
        try await harness.waitUntil("199 accepted and the rest parked") {
            harness.simulator.state.totalAcceptedEvents == 199 && relay.stats.snapshot.parked[.rejected] == 1
        }
        let parked = try await harness.deadLetters(count: 1)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        #expect(parked.count == 1)
        let record = try #require(parked.first)
        #expect(record.value == marked.value)
        #expect(record.key == marked.key)
        #expect(record.timestampMs == producedAt)
        #expect(Array(record.headers.prefix(3)) == sourceHeaders)
        #expect(record.headerText("currents.relay.original") == nil)
        #expect(relay.stats.snapshot.recordsReread == 1 && relay.stats.snapshot.parkedWithoutOriginal.isEmpty)
        #expect(record.headerText("currents.relay.reason") == "rejected")
        #expect(record.headerText("currents.relay.http.status") == "400")
        #expect(record.headerText("currents.relay.feed") == "unbound")
        #expect(record.headerText("__connect.errors.topic") == harness.topic)
        #expect(record.headerText("__connect.errors.partition") == "0")
        #expect(record.headerText("__connect.errors.exception.message")?.contains("marked to be refused") == true)
        #expect(record.headerText("currents.relay.first.attempt.ms") != nil)
        #expect(record.headerText("currents.relay.parked.ms") != nil)
        #expect(!harness.simulator.state.acceptedEvents.contains { $0.sourceMessageID == marked.id })
        #expect(try harness.committed(group: "e2e-400")[TopicPartition(harness.topic, 0)] == .some(200))
        await harness.stop()
    }

    @Test func expiredCredentialsHoldEventsThenParkThemAfterFortyEightHoursThenRotationResumes() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 3)
        // iOS credentials expire on mParticle's side.
        harness.simulator.state.setCredentials(feed: "ios", key: "demo-ios-key", secret: "rotated-secret")
        let records = SampleEvents(seed: 24, anonymousPercent: 0, types: ["users.messages.pushnotification.Send", "users.messages.email.Send"]).records(count: 300)
        try await harness.seed(records)
        let iosIDs = Set(records.filter { $0.platform == "ios" }.map(\.id))
        let otherIDs = Set(records.map(\.id)).subtracting(iosIDs)
        #expect(!iosIDs.isEmpty)
        let ends = try harness.endOffsets()
        let clock = ShiftableClock()
        let (relay, task) = try harness.startRelay(group: "e2e-expiry", clock: clock)

        try await harness.waitUntil("the other feeds to deliver everything") {
            Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)) == otherIDs
        }
        try await harness.waitUntil("the iOS feed to be blocked") { relay.stats.snapshot.blockedFeeds == [.ios] }
        // Held: the iOS messages keep their partitions' offsets back.
        #expect(try harness.committed(group: "e2e-expiry").contains { $0.value != ends[$0.key] })

        clock.advance(by: .seconds(49 * 3600))
        try await harness.waitUntilCommitted("e2e-expiry", reach: ends, "offsets to advance past the parked messages")
        #expect(relay.stats.snapshot.parked[.expired] == iosIDs.count)

        // kcat, an independent client, reads the dead-letter topic.
        let kcat = try #require(["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let lines = try runProcess(kcat, ["-C", "-b", harness.cluster.bootstrapServers, "-t", harness.deadLetterTopic, "-e", "-q",
                                          "-f", "%h\\n"]).split(separator: "\n")
        #expect(lines.count == iosIDs.count)
        #expect(lines.allSatisfy { $0.contains("currents.relay.reason=expired") && $0.contains("currents.relay.feed=ios") && $0.contains("__connect.errors.offset=") })

        // Rotate the relay's credentials: new iOS events flow again.
        relay.updateCredentials([
            .ios: .init(key: "demo-ios-key", secret: "rotated-secret"),
            .android: .init(key: "demo-android-key", secret: "demo-android-secret"),
            .web: .init(key: "demo-web-key", secret: "demo-web-secret"),
            .unbound: .init(key: "demo-unbound-key", secret: "demo-unbound-secret"),
        ])
        let fresh = SampleEvents(seed: 25, anonymousPercent: 0, types: ["users.messages.pushnotification.Send"]).records(count: 30).filter { $0.platform == "ios" }
        // Produced "now" as the relay's clock sees it.
        try await harness.seed(fresh, timestampMs: clock.wallMilliseconds())
        try await harness.waitUntil("new iOS events to be accepted") {
            Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isSuperset(of: fresh.map(\.id))
        }
        // The simulator records a 202 before the relay has read it: wait for the relay's side too.
        try await harness.waitUntil("the iOS feed to be unblocked") { relay.stats.snapshot.blockedFeeds.isEmpty }
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        await harness.stop()
    }

    /// A record gone from Kafka before its event could be parked (retention) is parked as the
    /// event's mParticle batch, marked and counted, and its offset still settles.
    @Test func anEventWhoseRecordRetentionRemovedIsParkedAsItsMParticleBatch() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        harness.simulator.state.setCredentials(feed: "ios", key: "demo-ios-key", secret: "rotated-secret")
        let event = try #require(SampleEvents(seed: 31, anonymousPercent: 0, types: ["users.messages.pushnotification.Send"]).records(count: 40)
            .first { $0.platform == "ios" })
        try await harness.seed([event], partition: 0)
        let clock = ShiftableClock()
        let (relay, task) = try harness.startRelay(group: "e2e-gone", clock: clock)
        try await harness.waitUntil("the iOS feed to be blocked") { relay.stats.snapshot.blockedFeeds == [.ios] }
        // Retention removes the record while the feed is blocked: the embedded broker keeps about
        // 5 MB per partition, so 8 MB of empty-valued records (skipped, settled) push it out.
        var generator = SystemRandomNumberGenerator()
        let filler = (0..<80).map { index in
            (id: "filler-\(index)", key: Optional((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }), value: Optional<[UInt8]>.none)
        }
        for chunk in stride(from: 0, to: filler.count, by: 10) { try await harness.produce(Array(filler[chunk..<chunk + 10]), partition: 0) }
        let partition = TopicPartition(harness.topic, 0)
        let inspector = try KafkaInspector(bootstrapServers: harness.cluster.bootstrapServers, groupID: "e2e-gone")
        #expect(try inspector.watermarks(partition).low > 0, "the record was pushed out of the log")
        clock.advance(by: .seconds(49 * 3600))
        try await harness.waitUntilCommitted("e2e-gone", reach: [partition: 81], "the offsets to pass the parked event")
        let parked = try await harness.deadLetters(count: 1)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        let record = try #require(parked.first)
        #expect(record.headerText("currents.relay.original") == "gone")
        #expect(record.headerText("currents.relay.reason") == "expired")
        #expect(record.headerText("__connect.errors.offset") == "0")
        #expect(record.key == nil)
        let batch = try #require(try JSONSerialization.jsonObject(with: Data(record.value ?? [])) as? [String: Any])
        let events = try #require(batch["events"] as? [[String: Any]])
        #expect((events.first?["data"] as? [String: Any])?["source_message_id"] as? String == event.id)
        #expect(relay.stats.snapshot.parkedWithoutOriginal == [.expired: 1])

        // Credentials fixed, `dlq redrive` sends the parked batch as it is, to the iOS input.
        harness.simulator.state.setCredentials(feed: "ios", key: "demo-ios-key", secret: "demo-ios-secret")
        let configuration = harness.configuration(group: "e2e-gone-redrive")
        let group = DeadLetterRedrive.defaultGroup(base: "e2e-gone-redrive", reason: nil, since: nil)
        let plan = try DeadLetterRedrive.plan(configuration: configuration, group: group, logger: harness.logger)
        let redrive = try DeadLetterRedrive.runner(plan: plan, configuration: configuration, group: group, reason: nil, sinceMs: nil,
                                                   dryRun: false, logger: harness.logger)
        try await redrive.run()
        let accepted = harness.simulator.state.acceptedEvents.filter { $0.sourceMessageID == event.id }
        #expect(accepted.count == 1 && accepted.first?.feed == "ios", "\(accepted)")
        #expect(redrive.stats.snapshot.totalParked == 0)
        await harness.stop()
    }

    @Test func everyPoisonRecordIsParkedAndTheRelayKeepsGoing() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        var garbage = SplitMix64(seed: 9)
        let corpus: [(String, [UInt8]?)] = [
            ("truncated", Array("{\"event_type\":\"users.canvas.Entry\",\"id\":\"x\",\"ti".utf8)),
            ("array", Array("[1,2,3]".utf8)),
            ("string", Array("\"hello\"".utf8)),
            ("empty object", Array("{}".utf8)),
            ("missing id", Array("{\"event_type\":\"users.canvas.Entry\",\"time\":1,\"user\":{\"external_user_id\":\"u\"}}".utf8)),
            ("numeric string", Array("\"12345\"".utf8)),
            ("number", Array("12345".utf8)),
            ("1 MB of garbage", (0..<990_000).map { _ in UInt8(truncatingIfNeeded: garbage.next()) }),
        ]
        // Empty values and tombstones carry no event: skipped as empty_record, not parked.
        let empty: [(String, [UInt8]?)] = [("empty value", []), ("null value", nil)]
        try await harness.produce((corpus + empty).map { ($0.0, Array($0.0.utf8), $0.1) }, partition: 0)
        let good = SampleEvents(seed: 26, anonymousPercent: 0).records(count: 1)
        try await harness.seed(good, partition: 0)
        let (relay, task) = try harness.startRelay(group: "e2e-poison")
        try await harness.waitUntil("the good event after the poison") { harness.simulator.state.totalAcceptedEvents == 1 }
        let parked = try await harness.deadLetters(count: corpus.count)
        try await harness.waitUntil("the offset to pass everything") {
            try harness.committed(group: "e2e-poison")[TopicPartition(harness.topic, 0)] == .some(Int64(corpus.count + empty.count + 1))
        }
        #expect(relay.stats.snapshot.skipped[.emptyRecord] == empty.count)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        #expect(parked.count == corpus.count)
        #expect(parked.allSatisfy { $0.headerText("currents.relay.reason") == "poison" })
        #expect(parked.map { String(decoding: $0.key ?? [], as: UTF8.self) }.sorted() == corpus.map(\.0).sorted())
        for record in parked {
            let message = record.headerText("__connect.errors.exception.message") ?? ""
            #expect(!message.isEmpty, "a poison record says why")
            let original = corpus.first { Array($0.0.utf8) == record.key }?.1
            #expect(record.value == original, "the original bytes are kept")
        }
        await harness.stop()
    }

    @Test func aDeadLetterTopicThatRefusesWritesHoldsTheSourceOffset() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        try await harness.produce([("poison", nil, Array("not json".utf8))], partition: 0)
        try await harness.seed(SampleEvents(seed: 27, anonymousPercent: 0).records(count: 5), partition: 0)
        // The next 30 Produce requests fail with NOT_ENOUGH_REPLICAS; with a short delivery timeout
        // the first dead-letter writes fail, until the broker takes them again.
        harness.cluster.failNextRequests(apiKey: MockCluster.ApiKey.produce, error: 19, count: 30)
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: harness.cluster.bootstrapServers, clientID: "dlq")
        producerConfiguration.properties = ["message.timeout.ms": "300", "retry.backoff.ms": "50"]
        let stats = RelayStats(name: "dlq-test")
        let sink = KafkaDeadLetterSink(producer: try KafkaProducer(configuration: producerConfiguration, logger: harness.logger),
                                       topic: harness.deadLetterTopic, backoff: Backoff(baseMs: 100, capMs: 100), stats: stats, logger: harness.logger)
        let (relay, task) = try harness.startRelay(group: "e2e-dlq-down", deadLetters: sink)
        try await harness.waitUntil("the good events") { harness.simulator.state.totalAcceptedEvents == 5 }
        try await harness.waitUntil("a failed dead-letter write") { stats.snapshot.deadLetterWriteFailures >= 1 }
        // The poison record is first in the partition: nothing may be committed past it yet.
        let held = try harness.committed(group: "e2e-dlq-down")[TopicPartition(harness.topic, 0)] ?? nil
        #expect((held ?? 0) == 0, "committed \(String(describing: held)) past the unparked record at offset 0")
        try await harness.waitUntil("the write to succeed and the offset to advance") {
            try harness.committed(group: "e2e-dlq-down")[TopicPartition(harness.topic, 0)] == .some(6)
        }
        #expect(relay.stats.snapshot.parked[.poison] == 1)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        await harness.stop()
    }
}

func runProcess(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
