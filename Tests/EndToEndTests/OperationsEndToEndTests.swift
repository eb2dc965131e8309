import Currents
import Foundation
import Kafka
import MParticleSimulator
import Relay
import Testing

/// The operator's verbs against the embedded broker and the simulator: replay, offsets show and
/// reset, dlq inspect and redrive. Most run the executable as a user would.
@Suite(.serialized, .timeLimit(.minutes(10))) struct OperationsEndToEndTests {
    /// Runs a relay in the group until its committed offsets reach the end, then stops it.
    func relayToTheEnd(_ harness: Harness, group: String) async throws {
        let ends = try harness.endOffsets()
        let (relay, task) = try harness.startRelay(group: group)
        try await harness.waitUntilCommitted(group, reach: ends)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
    }

    /// Produces dead-letter records as the relay writes them (value: the source record).
    func produceDeadLetters(_ harness: Harness, _ items: [(value: [UInt8], reason: String, feed: String?, parkedMs: Int64)]) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: harness.cluster.bootstrapServers, clientID: "dlq-seeder"),
                                         logger: harness.logger)
        for (index, item) in items.enumerated() {
            var headers = [
                KafkaHeader(key: DeadLetterHeaders.topicHeader, string: harness.topic),
                KafkaHeader(key: DeadLetterHeaders.partitionHeader, string: "0"),
                KafkaHeader(key: DeadLetterHeaders.offsetHeader, string: String(index)),
                KafkaHeader(key: DeadLetterHeaders.exceptionMessageHeader, string: "parked by the test"),
                KafkaHeader(key: DeadLetterHeaders.reasonHeader, string: item.reason),
                KafkaHeader(key: DeadLetterHeaders.parkedHeader, string: String(item.parkedMs)),
            ]
            if let feed = item.feed { headers.append(KafkaHeader(key: DeadLetterHeaders.feedHeader, string: feed)) }
            _ = try await producer.send(topic: harness.deadLetterTopic, partition: 0, key: nil, value: item.value, headers: headers)
        }
        await producer.close()
    }

    var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test func replayByOffsetResendsExactlyTheRangeAndLeavesTheGroupsOffsetsAlone() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 3)
        let records = SampleEvents(seed: 61, anonymousPercent: 0).records(count: 300)
        let placed = try await harness.seed(records)
        try await relayToTheEnd(harness, group: "ops-replay")
        let committed = try harness.committed(group: "ops-replay")
        harness.simulator.state.reset()
        let config = try relayConfigFile(harness, group: "ops-replay")

        let outcome = try runCLI(["replay", "--config", config, "--from-offset", "0:10,1:0", "--until-offset", "0:40,1:25", "--log-level", "warning"])
        #expect(outcome.status == 0, "\(outcome.errors.suffix(2000))")
        #expect(outcome.output.contains("total 55 records"))
        #expect(outcome.output.contains("replay complete: 55 of 55 records"))
        let expected = Set(placed.filter { id, report in
            (report.topicPartition.partition == 0 && (10..<40).contains(report.offset)) || (report.topicPartition.partition == 1 && report.offset < 25)
        }.map(\.key))
        #expect(expected.count == 55)
        let accepted = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        #expect(accepted.count == 55, "each event of the range once")
        #expect(Set(accepted) == expected)
        #expect(try harness.committed(group: "ops-replay") == committed, "the group's offsets are untouched")
        #expect(try harness.committed(group: "ops-replay.replay").values.allSatisfy { $0 == nil }, "the replay commits nowhere")

        // A dry run maps and counts, and sends nothing.
        let dryRun = try runCLI(["replay", "--config", config, "--from-offset", "2:0", "--dry-run", "--log-level", "warning"])
        #expect(dryRun.status == 0, "\(dryRun.errors.suffix(2000))")
        let partitionTwo = placed.values.filter { $0.topicPartition.partition == 2 }.count
        #expect(dryRun.output.contains("events would send: \(partitionTwo)"))
        #expect(dryRun.output.contains("dry run: nothing was sent"))
        #expect(harness.simulator.state.totalAcceptedEvents == 55)

        let usage = try runCLI(["replay", "--config", config, "--from-offset", "9:0"])
        #expect(usage.status == 2)
        #expect(usage.errors.contains("--from-offset: partition 9 is not among"))
        await harness.stop()
    }

    @Test func offsetsShowMatchesWhatKcatReads() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 3)
        try await harness.seed(SampleEvents(seed: 62, anonymousPercent: 0).records(count: 150))
        let inspector = try harness.inspector(group: "ops-show")
        try inspector.commit([TopicPartition(harness.topic, 0): 5, TopicPartition(harness.topic, 2): 17])
        let config = try relayConfigFile(harness, group: "ops-show")

        let outcome = try runCLI(["offsets", "show", "--config", config, "--log-level", "warning"])
        #expect(outcome.status == 0, "\(outcome.errors.suffix(2000))")
        var totalLag: Int64 = 0
        for partition in 0..<3 {
            // kcat, an independent client, reads every record of the partition.
            let kcat = Process()
            kcat.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
            kcat.arguments = ["-C", "-b", harness.cluster.bootstrapServers, "-t", harness.topic, "-p", String(partition), "-o", "beginning", "-e", "-q", "-f", "%o\\n"]
            let pipe = Pipe()
            kcat.standardOutput = pipe
            try kcat.run()
            let offsets = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int64($0) }
            kcat.waitUntilExit()
            let end = (offsets.max() ?? -1) + 1
            let committed: Int64? = [0: 5, 2: 17][partition]
            let lag = end - (committed ?? 0)
            totalLag += lag
            let row = "\(harness.topic)  \(partition)          \(committed.map(String.init) ?? "-")"
            let line = try #require(outcome.output.split(separator: "\n").first { $0.hasPrefix(row) }, "row for partition \(partition) in\n\(outcome.output)")
            let columns = line.split(separator: " ")
            #expect(columns.count == 6)
            #expect(columns[4] == Substring(String(end)), "END of partition \(partition)")
            #expect(columns[5] == Substring(String(lag)), "LAG of partition \(partition)")
        }
        #expect(outcome.output.contains("total lag \(totalLag) over 3 partitions (2 with a committed offset)"))
        await harness.stop()
    }

    @Test func aResetIsRefusedWhileTheGroupIsActiveAndResetToEarliestThenRunResendsEverything() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 3)
        let records = SampleEvents(seed: 63, anonymousPercent: 0).records(count: 200)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        let config = try relayConfigFile(harness, group: "ops-reset")

        // While a relay of the group runs, the reset is refused and nothing moves.
        let (relay, task) = try harness.startRelay(group: "ops-reset")
        try await harness.waitUntilCommitted("ops-reset", reach: ends)
        let refused = try runCLI(["offsets", "reset", "--config", config, "--to-earliest", "--execute", "--log-level", "warning"])
        #expect(refused.status == 1, "\(refused.output)\n\(refused.errors.suffix(2000))")
        #expect(refused.errors.contains("refused: group ops-reset has another active member"))
        #expect(try harness.committed(group: "ops-reset").mapValues { $0 ?? -1 } == ends)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value

        // Stopped: the plan alone changes nothing; --execute moves every partition to the start.
        let plan = try runCLI(["offsets", "reset", "--config", config, "--to-earliest", "--log-level", "warning"])
        #expect(plan.status == 0, "\(plan.errors.suffix(2000))")
        #expect(plan.output.contains("CURRENT-OFFSET  NEW-OFFSET"))
        #expect(plan.output.contains("dry run: nothing changed"))
        #expect(try harness.committed(group: "ops-reset").mapValues { $0 ?? -1 } == ends)
        let executed = try runCLI(["offsets", "reset", "--config", config, "--to-earliest", "--execute", "--log-level", "warning"])
        #expect(executed.status == 0, "\(executed.errors.suffix(2000))")
        #expect(executed.output.contains("committed the new offsets for group ops-reset"))
        #expect(try harness.committed(group: "ops-reset").values.allSatisfy { $0 == 0 })

        // The next run sends everything again.
        harness.simulator.state.reset()
        try await relayToTheEnd(harness, group: "ops-reset")
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)) == Set(records.map(\.id)))
        #expect(harness.simulator.state.totalAcceptedEvents == records.count)
        await harness.stop()
    }

    @Test func dlqInspectCountsMatchTheRecordsProduced() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        let value = Array("{\"id\":\"x\"}".utf8)
        var items: [(value: [UInt8], reason: String, feed: String?, parkedMs: Int64)] = []
        items += (0..<6).map { _ in (value, "expired", "ios", nowMs - 30 * 60_000) }
        items += (0..<4).map { _ in (value, "rejected", "web", nowMs - 3 * 3_600_000) }
        items += (0..<3).map { _ in (value, "poison", nil, nowMs - 2 * 86_400_000) }
        try await produceDeadLetters(harness, items)
        let config = try relayConfigFile(harness, group: "ops-inspect")

        let outcome = try runCLI(["dlq", "inspect", "--config", config, "--show", "2", "--log-level", "warning"])
        #expect(outcome.status == 0, "\(outcome.errors.suffix(2000))")
        let text = outcome.output
        #expect(text.contains("dead-letter topic \(harness.deadLetterTopic): 13 record(s)"))
        for line in ["  expired               6", "  rejected              4", "  poison                3",
                     "  ios                   6", "  web                   4", "  none                  3",
                     "  < 1h                  6", "  1h-24h                4", "  1d-7d                 3"] {
            #expect(text.contains(line), "\(line) in\n\(text)")
        }
        #expect(text.contains("oldest: ") && text.contains("(\(harness.deadLetterTopic)[0]@10)"))
        #expect(text.components(separatedBy: "--- \(harness.deadLetterTopic)[0]@").count == 3, "two records shown")
        #expect(text.contains("currents.relay.reason: expired"))

        let filtered = try runCLI(["dlq", "inspect", "--config", config, "--reason", "rejected", "--log-level", "warning"])
        #expect(filtered.output.contains(": 4 record(s)"))
        let bad = try runCLI(["dlq", "inspect", "--config", config, "--reason", "lost"])
        #expect(bad.status == 2)
        #expect(bad.errors.contains("--reason: expected one of expired, poison, rejected"))
        await harness.stop()
    }

    @Test func dlqRedriveEmptiesABacklogIntoTheSimulatorAndResumesAfterAnInterruption() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        let now = Int64(Date().timeIntervalSince1970)
        var records = SampleEvents(seed: 64, anonymousPercent: 0).records(count: 240)
        // Web events last: while the web feed fails, the redrive's position stops at the first one.
        records.sort { ($0.platform == "web" ? 1 : 0) < ($1.platform == "web" ? 1 : 0) }
        let old = SampleEvents(seed: 65, anonymousPercent: 0, baseTime: now - 40 * 86_400, types: ["users.messages.email.Open"]).records(count: 1)
        let refusedForever = records[3].id
        let all = old + records
        try await produceDeadLetters(harness, all.map { ($0.value, "expired", $0.platform ?? "unbound", nowMs - 3_600_000) })
        let firstWeb = all.firstIndex { $0.platform == "web" }!
        harness.simulator.state.setBehaviour(.init(failStatus: 503), feed: "web")
        harness.simulator.state.setBehaviour(.init(rejectEventIDs: [refusedForever]), feed: Harness.expectedFeed(records[3]))

        let configuration = harness.configuration(group: "ops-redrive")
        let group = DeadLetterRedrive.defaultGroup(base: "ops-redrive", reason: "expired", since: nil)
        let plan = try DeadLetterRedrive.plan(configuration: configuration, group: group, logger: harness.logger)
        #expect(plan.total == Int64(all.count))
        let first = try DeadLetterRedrive.runner(plan: plan, configuration: configuration, group: group, reason: .expired, sinceMs: nil,
                                                 dryRun: false, logger: harness.logger)
        let firstTask = Task { try await first.run() }
        // Everything before the first web event settles (one is parked again); then it is interrupted.
        try await harness.waitUntil("the records before the first web event to settle") {
            first.bounded!.progress.settled == Int64(firstWeb)
        }
        await first.shutdown(timeout: .seconds(2))
        try await firstTask.value
        let dlq = TopicPartition(harness.deadLetterTopic, 0)
        let committedAfterFirst = try harness.inspector(group: group).committed([dlq])[dlq]!!
        #expect(committedAfterFirst == Int64(firstWeb), "the redrive group keeps its position")

        harness.simulator.state.setBehaviour(nil, feed: "web")
        let resumed = try DeadLetterRedrive.plan(configuration: configuration, group: group, logger: harness.logger)
        #expect(resumed.ranges.first?.start == committedAfterFirst)
        // The record parked again (reason rejected) is in range now, and left out by --reason expired.
        #expect(resumed.ranges.first?.end == Int64(all.count + 1))
        let second = try DeadLetterRedrive.runner(plan: resumed, configuration: configuration, group: group, reason: .expired, sinceMs: nil,
                                                  dryRun: false, logger: harness.logger)
        try await second.run()
        #expect(second.bounded!.progress.done)
        #expect(second.stats.snapshot.skipped[.filtered] == 1)
        #expect(try harness.inspector(group: group).committed([dlq])[dlq]!! == Int64(all.count + 1))

        let accepted = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        #expect(Set(accepted) == Set(all.map(\.id)).subtracting([refusedForever]))
        #expect(accepted.count == all.count - 1, "nothing sent twice across the interruption")
        #expect(harness.simulator.state.historicalEvents == 1, "the 40-day-old event went to /v2/bulkevents/historical")
        // The event mParticle refuses again is parked again, with its history.
        let parkedAgain = try await harness.deadLetters(count: all.count + 1).dropFirst(all.count)
        let again = try #require(parkedAgain.first)
        #expect(again.headerText(DeadLetterHeaders.reasonHeader) == "rejected")
        #expect(again.headerText(DeadLetterHeaders.topicHeader) == harness.topic)
        #expect(again.headerText(DeadLetterHeaders.redriveCountHeader) == "1")
        #expect(again.headerText(DeadLetterHeaders.historyHeader)?.hasPrefix("reason=expired;") == true)
        #expect(again.value == records[3].value)
        await harness.stop()
    }
}
