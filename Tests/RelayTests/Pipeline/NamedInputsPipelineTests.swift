import Foundation
import Kafka
import Logging
import MParticle
import NIOConcurrencyHelpers
import Testing
@testable import Relay

/// An Events API that answers by feed key (403 for the keys in `refused`) and records the event
/// ids it accepted per key.
final class PerKeyAPI: EventsAPI {
    let refused: Set<String>
    let accepted = NIOLockedValueBox<[String: [String]]>([:])
    let refusals = NIOLockedValueBox(0)

    init(refused: Set<String>) { self.refused = refused }

    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        if refused.contains(credentials.key) {
            refusals.withLockedValue { $0 += 1 }
            return EventsAPIResponse(status: 403)
        }
        let batches = try JSONSerialization.jsonObject(with: Data(body.bytes)) as! [[String: Any]]
        let ids = batches.flatMap { ($0["events"] as! [[String: Any]]).map { ($0["data"] as! [String: Any])["source_message_id"] as! String } }
        accepted.withLockedValue { $0[credentials.key, default: []] += ids }
        return EventsAPIResponse(status: 202)
    }
    func ids(_ key: String) -> [String] { accepted.withLockedValue { $0[key] ?? [] } }
}

/// The pipeline with named inputs (issue: app-level and workspace-level credentials): every per
/// feed thing (batcher, send window, blocking) is per input.
@Suite(.timeLimit(.minutes(10))) struct NamedInputsPipelineTests {
    let phone = TopicPartition("braze.currents", 0)
    let tablet = TopicPartition("braze.currents", 1)

    /// `ios` (phone app), `ios-tablet` (tablet app) and `unbound`, loaded from YAML as a user writes it.
    func configuration(tabletKey: String) async throws -> RelayConfiguration {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("named-inputs-\(UUID().uuidString).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try """
        mparticle:
          feeds:
            ios: { key: "k-phone", secret: "s" }
            ios-tablet: { platform: ios, key: "\(tabletKey)", secret: "s" }
            unbound: { key: "k-unbound", secret: "s" }
          apps: { "app-phone": ios, "app-tablet": ios-tablet }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try await ConfigLoader.load(path: path, environment: [:])
    }

    func pipeline(_ configuration: RelayConfiguration, source: FakeSource, api: some EventsAPI) -> RelayPipeline {
        let stats = RelayStats(name: "test", feeds: configuration.mparticle.catalog.feeds)
        let credentials = configuration.mparticle.feeds
        let sender = FeedSender(api: api, baseURL: "http://unused", credentials: { credentials[$0] },
                                backoff: Backoff(baseMs: 1, capMs: 5), clock: SystemRelayClock(), stats: stats, logger: Logger(label: "test"),
                                feeds: configuration.mparticle.catalog.feeds)
        let mapper = EventMapper(environment: .production, identityKey: "customerid", router: configuration.mparticle.router, selection: EventSelection())
        let settings = RelayPipeline.Settings(lingerMs: 10, maxInFlightRequestsPerFeed: 2, maxInFlightMessages: 1000, authProbeInterval: .milliseconds(50))
        return RelayPipeline(source: source, mapper: mapper, sender: sender, deadLetters: MemoryDeadLetters(), settings: settings,
                             stats: stats, logger: Logger(label: "test"))
    }

    func push(_ offset: Int64, app: String, in partition: TopicPartition) -> KafkaMessage {
        let value = #"{"event_type":"users.messages.pushnotification.Send","id":"\#(app)-\#(offset)","time":1700000000,"user":{"external_user_id":"u-\#(offset)"},"properties":{"app_id":"\#(app)","platform":"ios"}}"#
        return KafkaMessage(topicPartition: partition, offset: offset, timestampMs: Int64(Date().timeIntervalSince1970 * 1000), key: nil, value: Array(value.utf8))
    }

    func waitFor(_ what: String, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + scaled(.seconds(60))
        while !(await condition()) {
            if ContinuousClock.now > deadline { Issue.record("timed out waiting for \(what)"); return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func aBlockedInputBlocksOnlyItsOwnEvents() async throws {
        let configuration = try await configuration(tabletKey: "k-tablet")
        let tabletFeed = try #require(configuration.mparticle.catalog.feed(named: "ios-tablet"))
        let source = FakeSource()
        let api = PerKeyAPI(refused: ["k-tablet"])
        let pipeline = pipeline(configuration, source: source, api: api)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([phone, tablet]))
        source.continuation.yield(.messages((0..<10).map { push($0, app: "app-tablet", in: tablet) } + (0..<10).map { push($0, app: "app-phone", in: phone) }))
        try await waitFor("the phone app's events accepted") { source.storedOffsets[phone] == 10 }
        try await waitFor("the tablet input blocked") { await pipeline.blockedFeeds == [tabletFeed] }
        #expect(Set(api.ids("k-phone")) == Set((0..<10).map { "app-phone-\($0)" }))
        #expect(api.ids("k-tablet").isEmpty && api.ids("k-unbound").isEmpty)
        #expect(source.storedOffsets[tablet] == nil, "the blocked input's events are held, not settled")
        #expect(pipeline.stats.snapshot.blockedFeeds == [tabletFeed])
        await pipeline.shutdown(timeout: .milliseconds(200))
        await run.value
    }

    @Test func inputsSharingAKeySendOnceThroughOneBatcher() async throws {
        let configuration = try await configuration(tabletKey: "k-phone")
        let source = FakeSource()
        let api = PerKeyAPI(refused: [])
        let pipeline = pipeline(configuration, source: source, api: api)
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([phone, tablet]))
        source.continuation.yield(.messages((0..<10).map { push($0, app: "app-tablet", in: tablet) } + (0..<10).map { push($0, app: "app-phone", in: phone) }))
        try await waitFor("every offset stored") { source.storedOffsets[phone] == 10 && source.storedOffsets[tablet] == 10 }
        let ids = api.ids("k-phone")
        #expect(ids.count == 20 && Set(ids).count == 20, "each event sent once: \(ids.count) sent")
        let snapshot = pipeline.stats.snapshot
        #expect(snapshot.eventsAccepted[.ios] == 20, "sent as the first input with the key")
        #expect(snapshot.eventsAccepted.count == 1)
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }
}
