import Foundation
import Kafka
import MParticleSimulator
import Relay
import Testing

/// App-level and workspace-level credentials end to end: a configuration file with a second iOS
/// app's input, the embedded broker over TCP and the simulator over HTTP, which counts what it
/// accepted per input.
@Suite(.serialized, .timeLimit(.minutes(10))) struct NamedInputsEndToEndTests {
    func push(_ id: String, app: String, platform: String = "ios") -> (id: String, key: [UInt8]?, value: [UInt8]?) {
        let value = #"{"event_type":"users.messages.pushnotification.Send","id":"\#(id)","time":\#(Int(Date().timeIntervalSince1970)),"user":{"external_user_id":"u-\#(id)","device_id":"d-\#(id)"},"properties":{"app_id":"\#(app)","platform":"\#(platform)"}}"#
        return (id, Array(id.utf8), Array(value.utf8))
    }

    @Test func twoIOSAppsReachTheirOwnInputs() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 3)
        let tablet = SimulatorConfiguration.demoTabletFeed
        harness.simulator.state.setCredentials(feed: tablet.name, key: tablet.key, secret: tablet.secret)
        let phoneIDs = (0..<40).map { "phone-\($0)" }
        let tabletIDs = (0..<40).map { "tablet-\($0)" }
        let otherIDs = (0..<20).map { "other-\($0)" }
        // The tablet app's events say android on some: the app's input wins over the platform.
        try await harness.produce(phoneIDs.map { push($0, app: "app-phone") } + tabletIDs.enumerated().map { push($1, app: "app-tablet", platform: $0 % 4 == 0 ? "android" : "ios") }
            + otherIDs.map { push($0, app: "app-other") })
        let ends = try harness.endOffsets()

        let feeds = SimulatorConfiguration.demoFeeds.map { "    \($0.name): { key: \"\($0.key)\", secret: \"\($0.secret)\" }" }.joined(separator: "\n")
        let path = ScratchDirectory.path("named-inputs", "yaml")
        try """
        name: "e2e-named"
        kafka:
          bootstrap_servers: "\(harness.cluster.bootstrapServers)"
          group_id: "e2e-named"
          topics: ["\(harness.topic)"]
          drain_timeout_ms: 2000
          properties: { auto.commit.interval.ms: "200", session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
        mparticle:
          base_url: "\(harness.simulator.baseURL)"
          environment: development
          feeds:
        \(feeds)
            ios-tablet: { platform: ios, key: "\(tablet.key)", secret: "\(tablet.secret)" }
          apps: { "app-phone": ios, "app-tablet": ios-tablet }
        delivery: { linger_ms: 50 }
        dead_letter: { topic: "\(harness.deadLetterTopic)" }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try await ConfigLoader.load(path: path, environment: [:])
        let runner = try RelayRunner(configuration: configuration, logger: harness.logger)
        let task = Task { try await runner.run() }
        try await harness.waitUntilCommitted("e2e-named", reach: ends)
        await runner.shutdown(timeout: .seconds(5))
        try await task.value

        let feedOf = Dictionary(harness.simulator.state.acceptedEvents.map { ($0.sourceMessageID ?? "", $0.feed) }, uniquingKeysWith: { $0 + "," + $1 })
        #expect(feedOf.count == 100, "\(feedOf.count) distinct events accepted")
        for id in tabletIDs { #expect(feedOf[id] == "ios-tablet", "\(id) on \(feedOf[id] ?? "no feed")") }
        for id in phoneIDs + otherIDs { #expect(feedOf[id] == "ios", "\(id) on \(feedOf[id] ?? "no feed")") }
        let counts = harness.simulator.state.counts
        #expect(counts["ios-tablet"]?.events == 40 && counts["ios"]?.events == 60, "\(counts)")
        // Per input in the relay's own figures too (the metrics' feed label).
        let tabletFeed = try #require(configuration.mparticle.catalog.feed(named: "ios-tablet"))
        #expect(runner.stats.snapshot.eventsAccepted[tabletFeed] == 40)
        #expect(harness.simulator.state.rejectedRequests.isEmpty)
        await harness.stop()
    }
}
