import Currents
import Foundation
import Kafka
import MParticleSimulator
import Relay
import Testing

/// The real `currents-relay` process, killed with SIGKILL mid-run.
@Suite(.serialized) struct CrashEndToEndTests {
    func configFile(_ harness: Harness, group: String, dedup: String, iosSecret: String = "demo-ios-secret", path: String? = nil) throws -> String {
        let feeds = SimulatorConfiguration.demoFeeds.map {
            "    \($0.name): { key: \"\($0.key)\", secret: \"\($0.name == "ios" ? iosSecret : $0.secret)\" }"
        }.joined(separator: "\n")
        let yaml = """
        name: "crash-test"
        kafka:
          bootstrap_servers: "\(harness.cluster.bootstrapServers)"
          group_id: "\(group)"
          topics: ["\(harness.topic)"]
          properties:
            session.timeout.ms: "6000"
            heartbeat.interval.ms: "500"
            auto.commit.interval.ms: "1000"
        mparticle:
          base_url: "\(harness.simulator.baseURL)"
          environment: development
          feeds:
        \(feeds)
        delivery:
          linger_ms: 50
          dedup: \(dedup)
          max_batches_per_second_per_feed: 5000
          auth_probe_interval_ms: 300
        dead_letter:
          topic: "\(harness.deadLetterTopic)"
        """
        let path = path ?? FileManager.default.temporaryDirectory.appendingPathComponent("crash-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func spawnRelay(config: String) throws -> Process {
        let executable = try #require(CommandLineTests.executable, "build the executable first (swift build)")
        let process = Process()
        process.executableURL = executable
        process.arguments = ["run", "--config", config, "--log-level", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func perEventModeDeliversNothingTwiceAcrossAKill() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 4)
        let records = SampleEvents(seed: 31, anonymousPercent: 0).records(count: 2000)
        try await harness.seed(records)
        let ends = try harness.endOffsets()
        harness.simulator.state.setBehaviour(.init(latencyMs: 20))
        let config = try configFile(harness, group: "e2e-kill", dedup: "per_event")

        let first = try spawnRelay(config: config)
        try await harness.waitUntil("a third of the events") { harness.simulator.state.totalAcceptedEvents >= 700 }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        let acceptedBeforeKill = harness.simulator.state.totalAcceptedEvents
        #expect(acceptedBeforeKill < records.count, "killed mid-run")

        harness.simulator.state.setBehaviour(.init())
        let second = try spawnRelay(config: config)
        try await harness.waitUntil("committed offsets to reach the end", timeout: .seconds(90)) {
            try harness.committed(group: "e2e-kill").allSatisfy { $0.value == ends[$0.key] }
        }
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
        let config = try configFile(harness, group: "e2e-sighup", dedup: "grouped")
        let relay = try spawnRelay(config: config)
        let records = SampleEvents(seed: 32, anonymousPercent: 0, types: ["users.messages.pushnotification.Send"]).records(count: 60)
        let ios = Set(records.filter { $0.platform == "ios" }.map(\.id))
        try await harness.seed(records)
        try await harness.waitUntil("the other feeds to deliver and iOS to be refused") {
            harness.simulator.state.totalAcceptedEvents == records.count - ios.count && (harness.simulator.state.rejectedRequests[403] ?? 0) >= 2
        }
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isDisjoint(with: ios))

        _ = try configFile(harness, group: "e2e-sighup", dedup: "grouped", iosSecret: "new-ios-secret", path: config)
        kill(relay.processIdentifier, SIGHUP)
        try await harness.waitUntil("iOS events to flow with the rotated secret") {
            Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isSuperset(of: ios)
        }
        relay.terminate()
        relay.waitUntilExit()
        #expect(relay.terminationStatus == 0)
        await harness.stop()
    }
}
