import Currents
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import MParticleSimulator
import Relay
import Testing

/// The real `currents-relay` process, killed with SIGKILL mid-run.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CrashEndToEndTests {
    @Test func perEventModeDeliversNothingTwiceAcrossAKill() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 4)
        let records = SampleEvents(seed: 31, anonymousPercent: 0).records(count: 2000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        harness.simulator.state.setBehaviour(.init(latencyMs: 20))
        let config = try relayConfigFile(harness, group: "e2e-kill", dedup: "per_event")

        let first = try spawnRelay(config: config)
        try await harness.waitUntil("a third of the events") { harness.simulator.state.totalAcceptedEvents >= 700 }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        let acceptedBeforeKill = harness.simulator.state.totalAcceptedEvents
        #expect(acceptedBeforeKill < records.count, "killed mid-run")

        harness.simulator.state.setBehaviour(.init())
        let second = try spawnRelay(config: config)
        try await harness.waitUntilCommitted("e2e-kill", reach: ends, "committed offsets to reach the end", timeout: .seconds(90))
        second.terminate()
        second.waitUntilExit()
        #expect(second.terminationStatus == 0, "SIGTERM is a clean stop")

        let ids = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        #expect(Set(ids) == Set(records.map(\.id)), "every event accepted")
        #expect(ids.count == Set(ids).count, "no event accepted twice past de-duplication")
        print("per_event kill -9: \(acceptedBeforeKill) accepted before the kill; \(harness.simulator.state.deduplicatedBatches) re-sent batches dropped by mParticle's de-duplication")
        await harness.stop()
    }

    @Test func rotatedCredentialsAreReadOnSIGHUPWithoutARestart() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        // mParticle now only takes a new secret for iOS; the running relay still has the old one.
        harness.simulator.state.setCredentials(feed: "ios", key: "demo-ios-key", secret: "new-ios-secret")
        let config = try relayConfigFile(harness, group: "e2e-sighup", dedup: "grouped")
        let relay = try spawnRelay(config: config)
        let records = SampleEvents(seed: 32, anonymousPercent: 0, types: ["users.messages.pushnotification.Send"]).records(count: 60)
        let ios = Set(records.filter { $0.platform == "ios" }.map(\.id))
        try await harness.seed(records)
        try await harness.waitUntil("the other feeds to deliver and iOS to be refused") {
            harness.simulator.state.totalAcceptedEvents == records.count - ios.count && (harness.simulator.state.rejectedRequests[403] ?? 0) >= 2
        }
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isDisjoint(with: ios))

        _ = try relayConfigFile(harness, group: "e2e-sighup", dedup: "grouped", iosSecret: "new-ios-secret", path: config)
        kill(relay.processIdentifier, SIGHUP)
        try await harness.waitUntil("iOS events to flow with the rotated secret") {
            Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isSuperset(of: ios)
        }
        relay.terminate()
        relay.waitUntilExit()
        #expect(relay.terminationStatus == 0)
        await harness.stop()
    }

    @Test func tenKillsDuringA50000EventRunLoseNothing() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 12)
        let records = SampleEvents(seed: 33, anonymousPercent: 0).records(count: 50_000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        #expect(ends.values.reduce(0, +) == 50_000, "the embedded broker kept the whole backlog")
        let config = try relayConfigFile(harness, group: "e2e-kill-10", dedup: "grouped")
        var generator = SplitMix64.reproducible("\(#function)")
        var acceptedAtKill: [Int] = []
        for _ in 0..<10 {
            let relay = try spawnRelay(config: config)
            // Kill mid-delivery: once this run has had a random number of events accepted.
            let target = harness.simulator.state.totalAcceptedEvents + Int.random(in: 300...3_000, using: &generator)
            try await harness.waitUntil("progress before the kill", timeout: .seconds(60)) { harness.simulator.state.totalAcceptedEvents >= target }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &generator)))
            kill(relay.processIdentifier, SIGKILL)
            relay.waitUntilExit()
            acceptedAtKill.append(harness.simulator.state.totalAcceptedEvents)
        }
        let last = try spawnRelay(config: config)
        try await harness.waitUntilCommitted("e2e-kill-10", reach: ends, "committed offsets to reach the end", timeout: .seconds(240))
        last.terminate()
        last.waitUntilExit()
        let ids = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        let missing = Set(records.map(\.id)).subtracting(ids)
        #expect(missing.isEmpty, "\(missing.count) events never accepted")
        print("kill -9 x10: accepted at each kill \(acceptedAtKill); \(ids.count) accepted in all, \(ids.count - Set(ids).count) duplicates")
        await harness.stop()
    }

    @Test func sigtermDuringABusyRunExitsCleanlyAndARestartResendsNothing() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 6)
        let records = SampleEvents(seed: 34, anonymousPercent: 0).records(count: 5000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        harness.simulator.state.setBehaviour(.init(latencyMs: 30))
        let config = try relayConfigFile(harness, group: "e2e-sigterm", dedup: "grouped")
        let relay = try spawnRelay(config: config)
        try await harness.waitUntil("a busy run") { harness.simulator.state.totalAcceptedEvents >= 1000 }
        let stopped = ContinuousClock.now
        relay.terminate()
        // The relay bounds its own shutdown (drain, then commit); a hang fails the suite's time limit.
        relay.waitUntilExit()
        let took = ContinuousClock.now - stopped
        #expect(relay.terminationStatus == 0)
        let acceptedBeforeStop = Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID))

        harness.simulator.state.setBehaviour(.init())
        let second = try spawnRelay(config: config)
        try await harness.waitUntilCommitted("e2e-sigterm", reach: ends, "committed offsets to reach the end")
        second.terminate()
        second.waitUntilExit()
        let ids = harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)
        #expect(Set(ids) == Set(records.map(\.id)))
        #expect(ids.count == Set(ids).count, "a clean stop leaves nothing to re-send: \(ids.count - Set(ids).count) duplicates")
        print("SIGTERM: stopped in \(took) with \(acceptedBeforeStop.count) accepted; restart re-sent \(ids.count - Set(ids).count)")
        await harness.stop()
    }

    /// Resident memory of a process, from /proc, in bytes.
    func residentBytes(_ pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kilobytes * 1024
    }

    @Test func aStalledMParticleWithABigBacklogKeepsMemoryBoundedAndTheMemberInTheGroup() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 16)
        let records = SampleEvents(seed: 35, anonymousPercent: 0).records(count: 100_000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        #expect(ends.values.reduce(0, +) == 100_000, "the embedded broker kept the whole backlog")
        harness.simulator.state.setBehaviour(.init(latencyMs: 30_000))
        let log = ScratchDirectory.path("stall", "log")
        let config = try relayConfigFile(harness, group: "e2e-stall", dedup: "grouped",
                                    extraProperties: "\n    max.poll.interval.ms: \"8000\"\n    queued.max.messages.kbytes: \"8192\"",
                                    extraDelivery: "\n  max_in_flight_messages: 5000\n  max_in_flight_bytes: 8388608")
        // Pauses and resumes are logged at debug (several a second while a backlog drains).
        let relay = try spawnRelay(config: config, log: log, logLevel: "debug")
        // Longer than max.poll.interval.ms, with every request stalled.
        var peak = 0
        var samples: [Int] = []
        for _ in 0..<40 {
            try await Task.sleep(for: .milliseconds(500))
            let resident = residentBytes(relay.processIdentifier) ?? 0
            samples.append(resident / 1_048_576)
            peak = max(peak, resident)
        }
        print("stall: RSS samples (MB) \(samples)")
        print((try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").filter { $0.contains("pausing") || $0.contains("resuming") }.prefix(5).joined(separator: "\n") ?? "")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.contains("pausing partitions"), "partitions were paused at the in-flight cap")
        #expect(!text.lowercased().contains("maximum poll interval"), "the member never exceeded max.poll.interval.ms")
        // The backlog is ~110 MB of records; the relay holds at most its cap of them (5,000, and
        // the batch the source handed over when the cap was reached): what it held each time it
        // paused, from its own log line, not its RSS (which depends on the machine and, under a
        // sanitizer, on shadow memory). The RSS samples above are printed for the curious.
        let held = text.split(separator: "\n").filter { $0.contains("pausing partitions") }
            .compactMap { line in line.firstMatch(of: /records=(\d+)/).flatMap { Int($0.1) } }
        print("stall: records held at each pause \(held.prefix(20))")
        #expect(!held.isEmpty, "the pause lines say how many records were held")
        #expect(held.allSatisfy { $0 >= 5_000 && $0 <= 7_500 }, "records held at each pause: \(held.prefix(20)); the cap is 5,000")
        #expect(harness.simulator.state.totalAcceptedEvents == 0)

        harness.simulator.state.setBehaviour(.init())
        try await harness.waitUntilCommitted("e2e-stall", reach: ends, "the backlog to drain once mParticle answers", timeout: .seconds(240))
        // Before the stop (which revokes on leaving), the member never lost its partitions.
        let before = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!before.contains("partitions revoked") && !before.contains("partitions lost"), "still the same member: no rebalance")
        #expect(!before.lowercased().contains("maximum poll interval"))
        relay.terminate()
        relay.waitUntilExit()
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)) == Set(records.map(\.id)))
        print("stall: peak RSS \(peak / 1_048_576) MB with 100,000 events waiting and every request stalled 30 s")
        await harness.stop()
    }
}
