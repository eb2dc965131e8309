import Currents
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import MParticleSimulator
import Relay
import Testing

/// The relay process seen from outside: `/metrics` against the simulator's own record, readiness,
/// and secrets that must not appear on any output channel.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ObservabilityEndToEndTests {
    func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test func metricsMatchTheSimulatorLagReachesZeroAndReadinessFollowsABlockedFeed() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 2)
        let records = SampleEvents(seed: 36, anonymousPercent: 10).records(count: 200)
        try await harness.seed(records)
        let port = try freeTCPPort()
        let config = try relayConfigFile(harness, group: "e2e-metrics", extraProperties: "\n    statistics.interval.ms: \"300\"",
                                         httpPort: port, extra: "\n  ready_max_blocked: \"1s\"")
        let log = ScratchDirectory.path("metrics", "log")
        let relay = try spawnRelay(config: config, log: log, logLevel: "info", arguments: ["--status-interval", "1"])
        let expected = records.filter { $0.externalUserID != nil }
        try await harness.waitUntil("the events") { harness.simulator.state.totalAcceptedEvents == expected.count }
        #expect(try await get(port, "/health/live").0 == 200)

        // The simulator records a 202 before the relay reads it, and lag comes every 300 ms: wait.
        var metrics = ""
        let deadline = ContinuousClock.now + scaled(.seconds(60))
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            metrics = try await get(port, "/metrics").1
        } while ContinuousClock.now < deadline && !(metric(metrics, "currents_relay_events_sent_total") == Double(expected.count)
                                                   && metrics.contains("currents_relay_consumer_lag_total") && metric(metrics, "currents_relay_consumer_lag_total") == 0
                                                   && metric(metrics, "currents_relay_consumer_lag") == 0 && metrics.contains("currents_relay_consumer_lag{"))
        let counts = harness.simulator.state.counts
        for (feed, count) in counts {
            #expect(metric(metrics, "currents_relay_events_sent_total", ["feed": feed]) == Double(count.events), "sent on \(feed)")
            #expect(metric(metrics, "currents_relay_batches_sent_total", ["feed": feed]) == Double(count.batches), "batches on \(feed)")
            #expect(metric(metrics, "currents_relay_responses_total", ["feed": feed, "class": "2xx"]) == Double(count.requests), "202s on \(feed)")
            #expect(metric(metrics, "currents_relay_request_duration_seconds_count", ["feed": feed]) == Double(count.requests))
            #expect(metric(metrics, "currents_relay_delivery_latency_seconds_count", ["feed": feed]) == Double(count.events))
        }
        #expect(metric(metrics, "currents_relay_events_skipped_total", ["reason": "no_external_user_id"]) == Double(records.count - expected.count))
        #expect(metric(metrics, "currents_relay_records_consumed_total", ["topic": harness.topic]) == Double(records.count))
        // One event per record, every one read, including those then skipped.
        #expect(metric(metrics, "currents_relay_events_decoded_total") == Double(records.count))
        #expect(metric(metrics, "currents_relay_consumer_lag_total") == 0)
        #expect(metrics.contains("currents_relay_consumer_lag{"), "per-partition lag from librdkafka's statistics")
        #expect((metric(metrics, "currents_relay_rebalances_total") ?? 0) >= 1)
        // 200 records never fill the 2 MB prefetch queue: no wake-up requests.
        #expect(metrics.contains("currents_relay_kafka_fetcher_wakeups_total"))
        #expect(metric(metrics, "currents_relay_kafka_fetcher_wakeups_total") == 0)
        #expect(metric(metrics, "currents_relay_in_flight_records") == 0)
        // The status line (every second here) reports batches per event over its interval: a
        // number when events were accepted in it, `-` when none were.
        var statusValues: [String] = []
        let statusDeadline = ContinuousClock.now + scaled(.seconds(20))
        while ContinuousClock.now < statusDeadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            statusValues = text.split(separator: "\n").filter { $0.contains("status") }.compactMap { line in
                line.firstMatch(of: /batches_per_event["=:]+"?([^"\s,]+)/).map { String($0.1) }
            }
            if statusValues.contains(where: { $0 != "-" }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let reported = statusValues.compactMap(Double.init)
        #expect(!reported.isEmpty, "a status line with batches_per_event: \(statusValues)")
        #expect(reported.allSatisfy { $0 > 0 && $0 <= 1 }, "\(statusValues)")
        #expect(statusValues.allSatisfy { $0 == "-" || Double($0) != nil }, "\(statusValues)")
        #expect(metric(metrics, "currents_relay_paused_partitions") == 0)
        #expect(metric(metrics, "currents_relay_feed_blocked") == 0)
        let ready = try await get(port, "/health/ready")
        #expect(ready.0 == 200, "\(ready.1)")

        // mParticle refuses the iOS feed's credentials: the feed blocks, and after 1 s the relay is not ready.
        harness.simulator.state.setCredentials(feed: "ios", key: "demo-ios-key", secret: "rotated-elsewhere")
        let iosRecords = SampleEvents(seed: 37, anonymousPercent: 0, types: ["users.messages.pushnotification.Send"]).records(count: 40)
            .filter { $0.platform == "ios" }
        #expect(!iosRecords.isEmpty)
        try await harness.seed(iosRecords)
        var notReady = (0, "")
        for _ in 0..<600 {
            notReady = try await get(port, "/health/ready")
            if notReady.0 == 503 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(notReady.0 == 503)
        #expect(notReady.1.contains("feed ios blocked"), "\(notReady.1)")
        #expect(metric(try await get(port, "/metrics").1, "currents_relay_feed_blocked", ["feed": "ios"]) == 1)

        // The credentials are valid again: the probe gets through, the feed unblocks, ready again.
        harness.simulator.state.setCredentials(feed: "ios", key: "demo-ios-key", secret: "demo-ios-secret")
        var readyAgain = (0, "")
        for _ in 0..<600 {
            readyAgain = try await get(port, "/health/ready")
            if readyAgain.0 == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(readyAgain.0 == 200, "\(readyAgain.1)")
        relay.terminate()
        relay.waitUntilExit()
        #expect(relay.terminationStatus == 0)
        #expect(Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isSuperset(of: iosRecords.map(\.id)))
        await harness.stop()
    }

    @Test func noSecretReachesALogLineAMetricAnErrorOrADeadLetterHeader() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 2)
        let secrets = ["ios": "ios-S3CRET-4f9a", "android": "android-S3CRET-77b2", "web": "web-S3CRET-e1c0", "unbound": "unbound-S3CRET-5d3e"]
        let kafkaPassword = "kafka-S3CRET-9a1f"
        // The simulator knows the real secrets, except Android's: that feed is refused (403) and blocked.
        for feed in ["ios", "web", "unbound"] {
            harness.simulator.state.setCredentials(feed: feed, key: "demo-\(feed)-key", secret: secrets[feed]!)
        }
        let records = SampleEvents(seed: 71, anonymousPercent: 5).records(count: 400)
        let refused = try #require(records.first { $0.platform == "ios" && $0.externalUserID != nil })
        harness.simulator.state.setBehaviour(.init(rejectEventIDs: [refused.id]), feed: "ios")
        harness.simulator.state.setBehaviour(.init(failureRate: 0.3, failureStatus: 503, seed: 5), feed: "web")
        harness.simulator.state.setBehaviour(.init(statusScript: [429, 429], retryAfterSeconds: 1), feed: "unbound")

        let port = try freeTCPPort()
        let config = try relayConfigFile(
            harness, group: "e2e-secrets", secrets: secrets, deadLetterExtra: "\n  max_age: \"12s\"",
            extraProperties: "\n    sasl.username: \"relay\"\n    sasl.password: \"\(kafkaPassword)\"",
            extraDelivery: "\n  retry_base_ms: 20\n  retry_max_ms: 200", httpPort: port, extra: "\n  ready_max_blocked: \"0s\"")
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        let log = ScratchDirectory.path("secrets", "log")
        let relay = try spawnRelay(config: config, log: log, logLevel: "debug")
        // Records are produced once the relay owns its partitions, so only Android's outlive the age limit.
        var started = false
        for _ in 0..<600 where relay.isRunning {
            if (try? await get(port, "/health/ready"))?.0 == 200 { started = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(started, "the relay started: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(500) ?? "")")
        try await harness.seed(records)
        try await harness.produce([("poison-1", nil, Array("{not json".utf8)), ("poison-2", nil, Array("[1,2]".utf8))])

        let sendable = records.filter { $0.externalUserID != nil }
        let android = sendable.filter { $0.platform == "android" }
        let delivered = sendable.filter { $0.platform != "android" && $0.id != refused.id }
        try await harness.waitUntil("every deliverable event", timeout: .seconds(90)) {
            Set(harness.simulator.state.acceptedEvents.compactMap(\.sourceMessageID)).isSuperset(of: delivered.map(\.id))
        }
        // Android's events expire while the feed is blocked; the refused and the poison ones are parked too.
        let parked = try await harness.deadLetters(count: android.count + 1 + 2, timeout: .seconds(60))
        #expect(parked.count == android.count + 3)
        #expect(Set(parked.compactMap { $0.headerText(DeadLetterHeaders.reasonHeader) }) == ["expired", "rejected", "poison"])
        var channels: [String: String] = [:]
        channels["metrics"] = try await get(port, "/metrics").1
        channels["ready"] = try await get(port, "/health/ready").1
        #expect(channels["ready"]!.contains("feed android blocked"))
        relay.terminate()
        relay.waitUntilExit()
        channels["log"] = try String(contentsOfFile: log, encoding: .utf8)
        channels["dead-letter headers"] = parked.flatMap { $0.headers.map { "\($0.key)=\($0.stringValue ?? "")" } }.joined(separator: "\n")
        channels["dead-letter values"] = parked.map { String(decoding: $0.value ?? [], as: UTF8.self) }.joined(separator: "\n")
        let inspect = try runCLI(["dlq", "inspect", "--config", config, "--show", "100"])
        channels["dlq inspect"] = inspect.output + inspect.errors
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: config)
        let check = try runCLI(["check-config", "--config", config])
        #expect(check.errors.contains("holds secrets (kafka.properties.sasl.password, mparticle.feeds.android.secret"), "the permission warning names keys, not values")
        channels["check-config"] = check.output + check.errors
        // A configuration error in a file full of secrets.
        let broken = config + ".broken.yaml"
        try (yaml + "\nunknown_key: 1\n").write(toFile: broken, atomically: true, encoding: .utf8)
        let error = try runCLI(["run", "--config", broken])
        #expect(error.status == 2)
        channels["config error"] = error.output + error.errors
        // librdkafka refuses a property when the file is read, and another when the client is made.
        let badProperty = config + ".property.yaml"
        try yaml.replacingOccurrences(of: "sasl.username: \"relay\"", with: "sasl.username: \"relay\"\n    security.protocol: \"bogus\"")
            .write(toFile: badProperty, atomically: true, encoding: .utf8)
        let propertyError = try runCLI(["check-config", "--config", badProperty])
        #expect(propertyError.status == 2)
        #expect(propertyError.errors.contains("kafka.properties: kafka property security.protocol=bogus"))
        let badMechanism = config + ".mechanism.yaml"
        try yaml.replacingOccurrences(of: "sasl.username: \"relay\"", with: "sasl.username: \"relay\"\n    security.protocol: \"sasl_plaintext\"\n    sasl.mechanism: \"NOPE\"")
            .replacingOccurrences(of: "port: \(port)", with: "port: 0")
            .write(toFile: badMechanism, atomically: true, encoding: .utf8)
        let mechanismError = try runCLI(["run", "--config", badMechanism])
        #expect(mechanismError.status == 2, "\(mechanismError.errors.suffix(500))")
        #expect(mechanismError.errors.contains("configuration error: kafka.properties"))
        channels["librdkafka config errors"] = propertyError.output + propertyError.errors + mechanismError.output + mechanismError.errors

        #expect(channels["log"]!.contains("blocked"), "the log covered the failure paths")
        #expect(channels["log"]!.contains("429") || channels["log"]!.contains("rate limit"))
        let forbidden = Array(secrets.values) + [kafkaPassword] + secrets.map { Data("demo-\($0.key)-key:\($0.value)".utf8).base64EncodedString() }
        for (channel, text) in channels {
            #expect(!text.isEmpty, "\(channel) was captured")
            for secret in forbidden {
                #expect(!text.contains(secret), "\(channel) contains a secret")
            }
        }
        await harness.stop()
    }
}
