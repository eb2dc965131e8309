import Currents
import Foundation
import Kafka
import Logging
import MParticle
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct GroupingTests {
    @Test func eventsOfOneUserShareBatchesAndNoBatchMixesUsersOrDevices() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        // A linger no run reaches: requests leave only when the pool overflows (as under load) or
        // at shutdown, which sends what is batched. So what is grouped does not depend on how fast
        // the machine takes the 10,000 records (a loaded sanitized run took minutes).
        let pipeline = makeTestPipeline(source: source, api: api, feeds: Set(Feed.allCases),
                                        settings: .init(lingerMs: 3_600_000, maxInFlightRequestsPerFeed: 4, maxInFlightMessages: 100_000),
                                        maxBatchesPerSecond: 1_000_000)
        let run = Task { await pipeline.run() }
        let partition = TopicPartition("braze.currents", 0)
        let records = SampleEvents(seed: 11, anonymousPercent: 0, users: 500).records(count: 10_000)
        source.continuation.yield(.assigned([partition]))
        let messages = records.enumerated().map {
            KafkaMessage(topicPartition: partition, offset: Int64($0.offset), timestampMs: nil, key: $0.element.key, value: $0.element.value)
        }
        // In batches, as the poll thread hands them over.
        for start in stride(from: 0, to: messages.count, by: 500) {
            source.continuation.yield(.messages(Array(messages[start..<min(start + 500, messages.count)])))
        }
        let deadline = ContinuousClock.now + scaled(.seconds(60))
        while pipeline.stats.snapshot.recordsConsumed < 10_000 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        // The actor takes a batch of records in one go, so shutdown (an actor call) comes after
        // the last of them: it sends the pool and waits for the answers.
        await pipeline.shutdown(timeout: scaled(.seconds(60)))
        await run.value
        #expect(source.storedOffsets[partition] == 10_000)

        let userOf = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0.externalUserID!) })
        let requests = try api.bodies.withLockedValue { $0 }.map { try JSONSerialization.jsonObject(with: Data($0)) as! [[String: Any]] }
        let batches = requests.flatMap { $0 }
        var events = 0
        for batch in batches {
            let identities = batch["user_identities"] as! [String: String]
            let batchEvents = batch["events"] as! [[String: Any]]
            events += batchEvents.count
            for event in batchEvents {
                let id = (event["data"] as! [String: Any])["source_message_id"] as! String
                #expect(userOf[id] == identities["customerid"], "event \(id) is in another user's batch")
            }
        }
        #expect(events == 10_000)
        let ratio = Double(events) / Double(batches.count)
        print("grouping: \(events) events over 500 users in \(batches.count) batches (\(String(format: "%.1f", ratio)) events per batch), \(requests.count) requests")
        #expect(batches.count < events / 2)
        #expect(requests.contains { $0.count == 100 }, "under load some requests carry exactly 100 batches")
        #expect(requests.allSatisfy { $0.count <= 100 })
        for request in requests {
            let size = try JSONSerialization.data(withJSONObject: request).count
            #expect(size <= EventsAPILimits.maxRequestBytes + 16 * 1024, "roughly within 256 KB even re-encoded")
        }
    }

    /// mParticle takes at most 100 user attributes per batch. The relay sends only `$mobile`, and
    /// events share a batch only when their user attributes are equal, so a batch carries its
    /// events' one `$mobile` and never more: 300 SMS sends of one user to 150 numbers (two each)
    /// give batches whose user attributes are their events' own, never merged across numbers.
    @Test func aBatchNeverCarriesMoreThanOneHundredUserAttributes() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let pipeline = makeTestPipeline(source: source, api: api, feeds: [.unbound],
                                        settings: .init(lingerMs: 3_600_000, maxInFlightRequestsPerFeed: 4, maxInFlightMessages: 10_000),
                                        maxBatchesPerSecond: 1_000_000)
        let run = Task { await pipeline.run() }
        let partition = TopicPartition("braze.currents", 0)
        source.continuation.yield(.assigned([partition]))
        let now = Int64(Date().timeIntervalSince1970)
        var phoneOf: [String: String] = [:]
        let messages = (0..<300).map { index -> KafkaMessage in
            let id = "sms-\(index)", phone = "+1555000\(index % 150)"
            phoneOf[id] = phone
            let value = "{\"event_type\":\"users.messages.sms.Send\",\"id\":\"\(id)\",\"time\":\(now),\"user\":{\"external_user_id\":\"one-user\",\"device_id\":\"d\"},\"properties\":{\"to_phone_number\":\"\(phone)\"}}"
            return KafkaMessage(topicPartition: partition, offset: Int64(index), timestampMs: nil, key: nil, value: Array(value.utf8))
        }
        source.continuation.yield(.messages(messages))
        let deadline = ContinuousClock.now + scaled(.seconds(60))
        while pipeline.stats.snapshot.recordsConsumed < 300 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        await pipeline.shutdown(timeout: scaled(.seconds(30)))
        await run.value
        #expect(source.storedOffsets[partition] == 300)

        let batches = try api.bodies.withLockedValue { $0 }.flatMap { try JSONSerialization.jsonObject(with: Data($0)) as! [[String: Any]] }
        var events = 0
        for batch in batches {
            let userAttributes = batch["user_attributes"] as? [String: Any] ?? [:]
            #expect(userAttributes.count <= EventsAPILimits.maxUserAttributes)
            #expect(Set(userAttributes.keys) == ["$mobile"])
            for event in batch["events"] as! [[String: Any]] {
                let id = (event["data"] as! [String: Any])["source_message_id"] as! String
                #expect(userAttributes["$mobile"] as? String == phoneOf[id], "event \(id) is in a batch with another number")
                events += 1
            }
        }
        #expect(events == 300)
        // Events to the same number did share batches: grouping was at work, not one event per batch.
        #expect(batches.count == 150)
    }

    @Test func anEventTooLargeForABatchIsParkedAsRejected() async throws {
        let source = FakeSource()
        let api = ScriptedAPI()
        let deadLetters = MemoryDeadLetters()
        let pipeline = makeTestPipeline(source: source, api: api, deadLetters: deadLetters, feeds: [.unbound], settings: .init(lingerMs: 10))
        let run = Task { await pipeline.run() }
        let partition = TopicPartition("t", 0)
        // 40 attributes of 4,000 characters: each is within mParticle's limits, together over 128 KB.
        let big = (0..<40).map { "\"field_\($0)\":\"\(String(repeating: "x", count: 4000))\"" }.joined(separator: ",")
        let large = "{\"event_type\":\"users.canvas.Entry\",\"id\":\"big\",\"time\":1700000000,\"user\":{\"external_user_id\":\"u\"},\"properties\":{\(big)}}"
        let small = "{\"event_type\":\"users.canvas.Entry\",\"id\":\"small\",\"time\":1700000000,\"user\":{\"external_user_id\":\"u\"},\"properties\":{}}"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        source.continuation.yield(.assigned([partition]))
        source.continuation.yield(.messages([
            KafkaMessage(topicPartition: partition, offset: 0, timestampMs: now, key: nil, value: Array(large.utf8)),
            KafkaMessage(topicPartition: partition, offset: 1, timestampMs: now, key: nil, value: Array(small.utf8)),
        ]))
        let deadline = ContinuousClock.now + scaled(.seconds(60))
        while source.storedOffsets[partition] != 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(source.storedOffsets[partition] == 2)
        #expect(pipeline.stats.snapshot.parked[.rejected] == 1)
        #expect(deadLetters.records.first?.1.message.hasPrefix("too_large") == true)
        #expect(deadLetters.records.first?.0.offset == 0)
        #expect(api.acceptedIDs.withLockedValue { $0 } == ["small"])
        await pipeline.shutdown(timeout: .seconds(1))
        await run.value
    }
}
