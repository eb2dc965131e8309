import Currents
import Foundation
import Kafka
import MParticleSimulator
import Relay
import Testing

@Suite(.serialized, .timeLimit(.minutes(10))) struct RelayEndToEndTests {
    @Test func everyEventArrivesOnceOnItsFeedAndOffsetsAreCommittedToTheEnd() async throws {
        let harness = try await Harness.start(brokers: 3, partitions: 6)
        let records = SampleEvents(seed: 1, anonymousPercent: 10).records(count: 1000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        #expect(ends.values.reduce(0, +) == 1000)

        let (relay, task) = try harness.startRelay(group: "e2e-all")
        try await harness.waitUntilCommitted("e2e-all", reach: ends, "committed offsets to reach the end offsets")
        await relay.shutdown(timeout: .seconds(5))
        try await task.value

        let accepted = harness.simulator.state.acceptedEvents
        let expected = records.filter { $0.externalUserID != nil }
        let anonymous = records.filter { $0.externalUserID == nil }
        #expect(!anonymous.isEmpty)
        // Exactly once each, on the right feed.
        var seen: [String: Int] = [:]
        for event in accepted { seen[event.sourceMessageID ?? "", default: 0] += 1 }
        #expect(accepted.count == expected.count)
        #expect(Set(seen.keys) == Set(expected.map(\.id)))
        #expect(seen.values.allSatisfy { $0 == 1 })
        let feedOf = Dictionary(uniqueKeysWithValues: accepted.map { ($0.sourceMessageID ?? "", $0.feed) })
        for record in expected {
            #expect(feedOf[record.id] == Harness.expectedFeed(record), "event \(record.id) (\(record.platform ?? "no platform"))")
        }
        #expect(Set(accepted.map(\.feed)) == ["ios", "android", "web", "unbound"])
        // Users without external_user_id were not sent, and were counted.
        #expect(anonymous.allSatisfy { seen[$0.id] == nil })
        #expect(relay.stats.snapshot.skipped[.noExternalUserID] == anonymous.count)
        #expect(try harness.committed(group: "e2e-all").mapValues { $0 ?? -1 } == ends)
        // The relay's output never trips mParticle's validation, and it names itself.
        #expect(harness.simulator.state.rejectedRequests.isEmpty)
        #expect(harness.simulator.state.userAgents == ["currents-relay/\(RelayVersion.current) (e2e)"])
        await harness.stop()
    }

    @Test func offsetsAreNotCommittedWhileMParticleRefusesAndAreOnceItAccepts() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 3)
        let records = SampleEvents(seed: 2, anonymousPercent: 0).records(count: 300)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        let before = try harness.committed(group: "e2e-503")
        #expect(before.values.allSatisfy { $0 == nil })

        harness.simulator.state.setFailStatus(503)
        let (relay, task) = try harness.startRelay(group: "e2e-503")
        try await harness.waitUntil("the relay to consume everything") { relay.stats.snapshot.recordsConsumed == records.count }
        try await harness.waitUntil("repeated 503s") { (harness.simulator.state.rejectedRequests[503] ?? 0) >= 8 }
        // Long enough for several auto-commit rounds (every 200 ms).
        try await Task.sleep(for: .seconds(1))
        #expect(try harness.committed(group: "e2e-503") == before)
        #expect(harness.simulator.state.totalAcceptedEvents == 0)

        harness.simulator.state.setFailStatus(nil)
        try await harness.waitUntilCommitted("e2e-503", reach: ends, "committed offsets to reach the end")
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)) == Set(records.map(\.id)))
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        await harness.stop()
    }

    @Test func aRelayStoppedHalfWayAndANewOneInTheSameGroupLoseNothing() async throws {
        let harness = try await Harness.start(brokers: 3, partitions: 6)
        let records = SampleEvents(seed: 3, anonymousPercent: 0).records(count: 1000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        // mParticle accepts three requests, then fails everything: the first relay is stopped with
        // work in flight, which it must not commit.
        harness.simulator.state.setBehaviour(.init(failStatus: 503, statusScript: [202, 202, 202]))
        let (first, firstTask) = try harness.startRelay(group: "e2e-restart")
        try await harness.waitUntil("three accepted requests") { (harness.simulator.state.rejectedRequests[503] ?? 0) >= 4 }
        await first.shutdown(timeout: .seconds(1))
        try await firstTask.value
        let acceptedByFirst = harness.simulator.state.totalAcceptedEvents
        #expect(acceptedByFirst < records.count, "the first relay should be stopped half-way")

        harness.simulator.state.setBehaviour(.init())
        let (second, secondTask) = try harness.startRelay(group: "e2e-restart")
        try await harness.waitUntilCommitted("e2e-restart", reach: ends, "committed offsets to reach the end")
        await second.shutdown(timeout: .seconds(5))
        try await secondTask.value

        let ids = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        let missing = Set(records.map(\.id)).subtracting(ids)
        #expect(missing.isEmpty, "\(missing.count) events never accepted")
        print("restart: first relay accepted \(acceptedByFirst), total accepted \(ids.count), duplicates \(ids.count - Set(ids).count)")
        await harness.stop()
    }
}
