import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import MParticleSimulator
import Testing

/// The case found: a wide custom payload (312 properties) through the relay process to the
/// simulator, which refuses what breaks mParticle's per-event limits as mParticle would. Without
/// the mapper's cut the event is refused (400), split down to itself and parked as `rejected`, and
/// this test times out waiting for it.
@Suite(.serialized, .timeLimit(.minutes(10))) struct AttributeLimitsEndToEndTests {
    /// An email send of `id` with eleven Braze fields and 312 properties of its own.
    static func wideRecord(_ id: String, time: Int64) -> [UInt8] {
        let braze = #""app_group_id":"ag","campaign_id":"c-1","campaign_name":"Wide","message_variation_id":"mv","message_variation_name":"A","send_id":"s-1","dispatch_id":"d-1","ip_pool":"pool","esp":"sendgrid","from_domain":"mail.example.com","email_address":"wide@example.com""#
        let custom = (0..<312).map { String(format: "\"custom_%03d\":\"value %d\"", $0, $0) }.joined(separator: ",")
        return Array(#"{"event_type":"users.messages.email.Send","id":"\#(id)","time":\#(time),"user":{"external_user_id":"u-\#(id)","device_id":"dev"},"properties":{\#(braze),\#(custom)}}"#.utf8)
    }

    @Test func aThreeHundredTwelvePropertyEventIsAcceptedWithOneHundredAttributesCountedAndLoggedOnce() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 1)
        let now = Int64(Date().timeIntervalSince1970)
        // Two wide events of one type (one log line within the minute) and an ordinary one.
        try await harness.produce([
            ("wide-1", nil, Self.wideRecord("wide-1", time: now)),
            ("wide-2", nil, Self.wideRecord("wide-2", time: now)),
            ("plain", nil, Array(#"{"event_type":"users.canvas.Entry","id":"plain","time":\#(now),"user":{"external_user_id":"u"},"properties":{"canvas_id":"cv"}}"#.utf8)),
        ], partition: 0)
        let port = try freeTCPPort()
        let config = try relayConfigFile(harness, group: "e2e-wide", httpPort: port)
        let log = ScratchDirectory.path("wide", "log")
        let relay = try spawnRelay(config: config, log: log, logLevel: "warning")
        defer { if relay.isRunning { relay.terminate() } }
        try await harness.waitUntil("the three events to be accepted") { harness.simulator.state.totalAcceptedEvents == 3 }

        let accepted = Dictionary(harness.simulator.state.acceptedEvents.map { ($0.sourceMessageID ?? "", $0) }) { first, _ in first }
        #expect(accepted["wide-1"]?.customAttributeCount == 100)
        #expect(accepted["wide-2"]?.customAttributeCount == 100)
        #expect(accepted["plain"]?.customAttributeCount == 2)
        #expect(harness.simulator.state.rejectedRequests.isEmpty, "refused: \(harness.simulator.state.rejectedRequests)")

        // Each wide event: 11 Braze fields (email_address moved to the identities, device_id
        // kept), 312 properties and source_request_id: 324 attributes, 224 left out.
        var metrics = ""
        let deadline = ContinuousClock.now + scaled(.seconds(30))
        repeat {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            metrics = String(decoding: data, as: UTF8.self)
            if metric(metrics, "currents_relay_attributes_truncated_total") == 448 { break }
            try await Task.sleep(for: .milliseconds(200))
        } while ContinuousClock.now < deadline
        #expect(metric(metrics, "currents_relay_attributes_truncated_total", ["feed": "unbound", "kind": "count"]) == 448)
        #expect(metric(metrics, "currents_relay_attributes_truncated_total", ["kind": "name_length"]) == 0)
        #expect(metric(metrics, "currents_relay_attributes_truncated_total", ["kind": "value_length"]) == 0)
        #expect(metric(metrics, "currents_relay_dead_lettered_total") == 0)

        relay.terminate()
        relay.waitUntilExit()
        #expect(relay.terminationStatus == 0)
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains("cut custom attributes") }
        #expect(lines.count == 1, "logged at most once a minute per event type: \(lines)")
        #expect(lines.first?.contains("users.messages.email.Send") == true)
        await harness.stop()
    }
}
