import Currents
import Foundation
import Kafka
import MParticleSimulator
import Relay
import NIOConcurrencyHelpers
import Testing

/// Scale-out by partition and surviving careless restarts, end to end.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ScalingEndToEndTests {
    /// Fast rebalances on the embedded broker (its coordinator finishes a round within the session timeout).
    static let groupProperties = ["auto.commit.interval.ms": "500", "session.timeout.ms": "6000", "heartbeat.interval.ms": "300"]

    @Test func membersJoinAndLeaveMidStreamAndNoPartitionHasTwoOwners() async throws {
        let harness = try await Harness.start(brokers: 3, partitions: 12)
        let records = SampleEvents(seed: 41, anonymousPercent: 0).records(count: 20_000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        harness.simulator.state.setBehaviour(.init(latencyMs: 5))
        let group = "e2e-scale"
        func start() throws -> (RelayRunner, Task<Void, Error>) {
            try harness.startRelay(group: group) {
                $0.kafka.properties = Self.groupProperties
                $0.kafka.drainTimeoutMs = 3000
                $0.delivery.maxBatchesPerSecondPerFeed = 10_000
            }
        }
        let first = try start()
        let second = try start()
        var members = [first, second]

        // Watch ownership the whole time: never two owners of one partition. A member's view is
        // its pipeline's: a partition leaves it when the consumer asks the pipeline to drain it,
        // before giving it up. The watcher reads the members one after another, not at one
        // instant, so an overlap counts when it lasts past 1 s (times the sanitizer slowdown);
        // a real second owner lasts until a session timeout (6 s here).
        let overlaps = NIOLockedValueBox<[String]>([])
        let overlapSince = NIOLockedValueBox<[String: ContinuousClock.Instant]>([:])
        let everOwned = NIOLockedValueBox<[Int: Set<TopicPartition>]>([:])
        let stopWatching = NIOLockedValueBox(false)
        let runners = NIOLockedValueBox<[RelayRunner]>([first.0, second.0])
        let watcher = Task {
            while !stopWatching.withLockedValue({ $0 }) {
                var seen: [TopicPartition: Int] = [:]
                var current: Set<String> = []
                for (index, runner) in runners.withLockedValue({ $0 }).enumerated() {
                    let owned = await runner.pipeline.assignedPartitions
                    everOwned.withLockedValue { $0[index, default: []].formUnion(owned) }
                    for partition in owned {
                        if let other = seen[partition] { current.insert("\(partition) owned by \(other) and \(index)") }
                        seen[partition] = index
                    }
                }
                let now = ContinuousClock.now
                overlapSince.withLockedValue { since in
                    since = since.filter { current.contains($0.key) }
                    for overlap in current {
                        let start = since[overlap] ?? now
                        since[overlap] = start
                        if now - start > scaled(.seconds(1)) {
                            overlaps.withLockedValue { if !$0.contains(overlap) { $0.append(overlap) } }
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }

        try await harness.waitUntil("both members to own partitions") {
            let owned = everOwned.withLockedValue { $0 }
            return (owned[0]?.isEmpty == false) && (owned[1]?.isEmpty == false)
        }
        try await harness.waitUntil("a third of the events") { harness.simulator.state.totalAcceptedEvents >= records.count / 3 }
        let third = try start()
        members.append(third)
        runners.withLockedValue { $0.append(third.0) }
        try await harness.waitUntil("the third member to own partitions") { !(everOwned.withLockedValue { $0[2] } ?? []).isEmpty }
        try await harness.waitUntil("two thirds of the events") { harness.simulator.state.totalAcceptedEvents >= records.count * 2 / 3 }
        // The first member leaves (graceful).
        await first.0.shutdown(timeout: .seconds(10))
        try await first.1.value

        try await harness.waitUntilCommitted(group, reach: ends, "committed offsets to reach the end", timeout: .seconds(120))
        stopWatching.withLockedValue { $0 = true }
        await watcher.value
        for member in members.dropFirst() {
            await member.0.shutdown(timeout: .seconds(5))
            try await member.1.value
        }
        let ids = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        #expect(Set(ids) == Set(records.map(\.id)), "nothing missing")
        #expect(overlaps.withLockedValue { $0 }.isEmpty, "\(overlaps.withLockedValue { $0 }.prefix(5))")
        let dropped = members.reduce(0) { $0 + $1.0.stats.snapshot.resultsForRevokedPartitions }
        print("scale: \(ids.count) accepted for \(records.count) events (\(ids.count - Set(ids).count) duplicates), \(dropped) late results for revoked partitions dropped")
        await harness.stop()
    }

    @Test func aBrokerDownAndFailingCommitsAndFetchesLoseNothingAndCommitsCatchUp() async throws {
        let harness = try await Harness.start(brokers: 3, partitions: 6)
        let records = SampleEvents(seed: 42, anonymousPercent: 0).records(count: 3000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        harness.simulator.state.setBehaviour(.init(latencyMs: 20))
        let (relay, task) = try harness.startRelay(group: "e2e-broker") {
            $0.kafka.properties = Self.groupProperties
            $0.delivery.maxBatchesPerSecondPerFeed = 10_000
        }
        try await harness.waitUntil("some progress") { harness.simulator.state.totalAcceptedEvents >= 300 }
        // OffsetCommit fails for a while (COORDINATOR_NOT_AVAILABLE), so do Fetches (NOT_LEADER_OR_FOLLOWER),
        // and broker 2 goes down for 10 s.
        harness.cluster.failNextRequests(apiKey: MockCluster.ApiKey.offsetCommit, error: 15, count: 10)
        harness.cluster.failNextRequests(apiKey: MockCluster.ApiKey.fetch, error: 6, count: 10)
        try harness.cluster.setBroker(2, up: false)
        try await Task.sleep(for: .seconds(10))
        try harness.cluster.setBroker(2, up: true)
        try await harness.waitUntilCommitted("e2e-broker", reach: ends, "committed offsets to catch up", timeout: .seconds(120))
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)) == Set(records.map(\.id)))
        await harness.stop()
    }
}
