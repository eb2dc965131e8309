import Foundation
import Kafka
import Logging
import MParticle
import MParticleSimulator
import NIOConcurrencyHelpers
import Testing
@testable import Relay

/// One case of `Tests/Fixtures/hostile/manifest.json`.
struct HostileCase: Decodable, Sendable {
    struct Header: Decodable, Sendable {
        var key: String
        var value: String?
        var hex: String?
        var fill: String?
        var bytes: Int?
    }
    struct Park: Decodable, Sendable {
        var reason: String
        var contains: String
        var event: String?
    }
    struct Expect: Decodable, Sendable {
        var sent: [String]
        var skipped: [String]
        var parked: [Park]
    }
    var name: String
    var file: String
    var why: String
    var value: String?
    var fill: Int?
    var headers: [Header]?
    var timestamp_age_ms: Int64?
    var truncated: Int?
    /// Custom attributes mParticle must receive, by Braze id.
    var attributes: [String: Int]?
    var historical: [String]?
    var expect: Expect

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hostile")

    static func all() throws -> [HostileCase] {
        struct Manifest: Decodable { var cases: [HostileCase] }
        return try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: directory.appendingPathComponent("manifest.json"))).cases
    }

    /// The Kafka record this case describes, as read at `nowMs`.
    func message(topicPartition: TopicPartition, offset: Int64, nowMs: Int64) throws -> KafkaMessage {
        var value: [UInt8]? = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent(file)))
        if self.value == "null" { value = nil }
        if var bytes = value {
            bytes = Self.replacing(Array("@@NOW@@".utf8), with: Array(String(nowMs / 1000).utf8), in: bytes)
            if let fill {
                let marker = Array("@@FILL@@".utf8)
                let padding = [UInt8](repeating: UInt8(ascii: "x"), count: max(0, fill - (bytes.count - marker.count)))
                bytes = Self.replacing(marker, with: padding, in: bytes)
            }
            value = bytes
        }
        let headers = (headers ?? []).map { header -> KafkaHeader in
            if let text = header.value { return KafkaHeader(key: header.key, value: Array(text.utf8)) }
            if let hex = header.hex {
                let digits = Array(hex)
                return KafkaHeader(key: header.key, value: stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! })
            }
            return KafkaHeader(key: header.key, value: Array(repeating: header.fill!.utf8.first!, count: header.bytes ?? 0))
        }
        return KafkaMessage(topicPartition: topicPartition, offset: offset, timestampMs: nowMs - (timestamp_age_ms ?? 0), key: Array(name.utf8),
                            value: value, headers: headers)
    }

    static func replacing(_ marker: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + replacement.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == marker[0], index + marker.count <= bytes.count, Array(bytes[index..<index + marker.count]) == marker {
                result += replacement
                index += marker.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }
}

/// Every hostile input ends as its manifest says, through the real pipeline and the simulator over
/// HTTP: nothing crashes, nothing is lost, every good event (also inside a mixed body) is delivered.
@Suite(.timeLimit(.minutes(10))) struct HostileCorpusTests {
    let partition = TopicPartition("braze.currents", 0)

    @Test func everyCaseEndsAsTheManifestSays() async throws {
        let cases = try HostileCase.all()
        #expect(cases.count >= 60)
        let simulator = try await SimulatorServer.start(SimulatorConfiguration(feeds: SimulatorConfiguration.demoFeeds))
        // A request that outlives the client's timeout is sent again (at least once, by design),
        // and the case then counts its event twice: on a loaded 2-core machine, with the whole
        // suite running, one request of this test once took over 10 s. The test is about outcomes.
        let client = HTTPEventsAPIClient(userAgent: "hostile-corpus", timeout: .seconds(120))
        let source = FakeSource()
        let deadLetters = MemoryDeadLetters()
        let stats = RelayStats(name: "hostile")
        let sender = FeedSender(api: client, baseURL: simulator.baseURL,
                                credentials: { FeedCredentials(key: "demo-\($0)-key", secret: "demo-\($0)-secret") },
                                backoff: Backoff(baseMs: 1, capMs: 5), clock: SystemRelayClock(), stats: stats, logger: Logger(label: "test"))
        let mapper = EventMapper(environment: .development, identityKey: "customerid",
                                 router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: [:]), selection: EventSelection())
        let pipeline = RelayPipeline(source: source, mapper: mapper, sender: sender, deadLetters: deadLetters,
                                     settings: .init(lingerMs: 5, maxInFlightRequestsPerFeed: 2, maxInFlightMessages: 1000),
                                     stats: stats, logger: Logger(label: "test"))
        let run = Task { await pipeline.run() }
        source.continuation.yield(.assigned([partition]))

        for (index, hostile) in cases.enumerated() {
            let before = stats.snapshot
            let parkedBefore = deadLetters.records.count
            let acceptedBefore = simulator.state.acceptedEvents.count
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            let message = try hostile.message(topicPartition: partition, offset: Int64(index), nowMs: nowMs)
            source.continuation.yield(.messages([message]))
            let deadline = ContinuousClock.now + scaled(.seconds(60))
            while source.storedOffsets[partition] != Int64(index + 1), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            try #require(source.storedOffsets[partition] == Int64(index + 1), "\(hostile.name): the record never settled")

            let after = stats.snapshot
            let accepted = Array(simulator.state.acceptedEvents[acceptedBefore...])
            #expect(accepted.compactMap(\.sourceMessageID).sorted() == hostile.expect.sent.sorted(), "\(hostile.name): sent")
            #expect(accepted.filter(\.historical).compactMap(\.sourceMessageID).sorted() == (hostile.historical ?? []).sorted(),
                    "\(hostile.name): historical")
            var skipped: [String] = []
            for reason in SkipReason.allCases {
                skipped += Array(repeating: reason.rawValue, count: after.skipped[reason, default: 0] - before.skipped[reason, default: 0])
            }
            #expect(skipped.sorted() == hostile.expect.skipped.sorted(), "\(hostile.name): skipped")
            #expect(after.attributesTruncated - before.attributesTruncated == hostile.truncated ?? 0, "\(hostile.name): truncated")
            for (id, count) in hostile.attributes ?? [:] {
                #expect(accepted.first { $0.sourceMessageID == id }?.customAttributeCount == count, "\(hostile.name): attributes of \(id)")
            }
            let parks = Array(deadLetters.records[parkedBefore...])
            #expect(parks.count == hostile.expect.parked.count, "\(hostile.name): \(parks.map { "\($0.1.reason): \($0.1.message)" })")
            for expected in hostile.expect.parked {
                let match = parks.contains { message, details in
                    details.reason.rawValue == expected.reason && details.message.contains(expected.contains)
                        && (expected.event == nil || details.eventID == expected.event) && message.offset == Int64(index)
                }
                #expect(match, "\(hostile.name): expected a \(expected.reason) park containing \"\(expected.contains)\", got \(parks.map { "\($0.1.reason) \($0.1.eventID ?? "-"): \($0.1.message)" })")
            }
            // The dead-letter record keeps the source record and says why, whatever the input was.
            for (message, details) in parks {
                let headers = DeadLetterHeaders.headers(for: message, details)
                #expect(headers.contains { $0.key == DeadLetterHeaders.reasonHeader && $0.value == Array(details.reason.rawValue.utf8) }, "\(hostile.name)")
            }
        }
        #expect(simulator.state.rejectedRequests.isEmpty, "the simulator refused a request: \(simulator.state.rejectedRequests)")
        await pipeline.shutdown(timeout: .seconds(5))
        await run.value
        await client.shutdown()
        await simulator.stop()
    }
}
