import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MParticle
import Testing
@testable import MParticleSimulator

/// The simulator over real HTTP, driven by the relay's own Events API client.
@Suite(.timeLimit(.minutes(10))) struct SimulatorTests {
    let feeds = [SimulatedFeed(name: "ios", key: "ios-key", secret: "ios-secret"), SimulatedFeed(name: "unbound", key: "u-key", secret: "u-secret")]

    func batch(_ id: String) -> String {
        "{\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\"},\"events\":[{\"event_type\":\"custom_event\",\"data\":{\"event_name\":\"Email Sends\",\"custom_event_type\":\"other\",\"timestamp_unixtime_ms\":1,\"source_message_id\":\"\(id)\"}}]}"
    }

    func withSimulator(_ body: (SimulatorServer, HTTPEventsAPIClient) async throws -> Void) async throws {
        let server = try await SimulatorServer.start(SimulatorConfiguration(feeds: feeds))
        let client = HTTPEventsAPIClient(userAgent: "tests")
        do {
            try await body(server, client)
        } catch {
            await client.shutdown(); await server.stop(); throw error
        }
        await client.shutdown()
        await server.stop()
    }

    @Test func acceptsAndRecordsPerFeed() async throws {
        try await withSimulator { server, client in
            let ios = FeedCredentials(key: "ios-key", secret: "ios-secret")
            let response = try await client.sendBulk(body: Array("[\(batch("a")),\(batch("b"))]".utf8), baseURL: server.baseURL, credentials: ios)
            #expect(response.status == 202)
            let unbound = FeedCredentials(key: "u-key", secret: "u-secret")
            #expect(try await client.sendBulk(body: Array("[\(batch("c"))]".utf8), baseURL: server.baseURL, credentials: unbound).status == 202)
            let events = server.state.acceptedEvents
            #expect(events.map(\.sourceMessageID) == ["a", "b", "c"])
            #expect(events.map(\.feed) == ["ios", "ios", "unbound"])
            #expect(server.state.counts["ios"] == SimulatorState.FeedCounts(requests: 1, batches: 2, events: 2))

            // The same report over HTTP, for scripts.
            let (data, _) = try await URLSession.shared.data(from: URL(string: server.baseURL + "/_sim/accepted")!)
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(report["total_events"] as? Int == 3)
            #expect(((report["event_ids"] as? [String: [String]])?["ios"]) == ["a", "b"])
        }
    }

    @Test func authFailures() async throws {
        try await withSimulator { server, client in
            let wrong = FeedCredentials(key: "ios-key", secret: "nope")
            #expect(try await client.sendBulk(body: Array("[\(batch("a"))]".utf8), baseURL: server.baseURL, credentials: wrong).status == 403)
            let unknown = FeedCredentials(key: "other", secret: "ios-secret")
            #expect(try await client.sendBulk(body: Array("[\(batch("a"))]".utf8), baseURL: server.baseURL, credentials: unknown).status == 403)
            var request = URLRequest(url: URL(string: server.baseURL + "/v2/bulkevents")!)
            request.httpMethod = "POST"
            request.httpBody = Data("[\(batch("a"))]".utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 401)
            #expect(server.state.totalAcceptedEvents == 0)
        }
    }

    @Test func validationAndLimits() async throws {
        try await withSimulator { server, client in
            let ios = FeedCredentials(key: "ios-key", secret: "ios-secret")
            func status(_ body: String) async throws -> Int {
                try await client.sendBulk(body: Array(body.utf8), baseURL: server.baseURL, credentials: ios).status
            }
            #expect(try await status("{not json") == 400)
            #expect(try await status("{}") == 400)
            #expect(try await status("[{\"events\":[]}]") == 400)
            #expect(try await status("[{\"environment\":\"production\",\"events\":[{\"event_type\":\"custom_event\",\"data\":{\"custom_event_type\":\"other\"}}]}]") == 400)
            #expect(try await status("[" + Array(repeating: batch("x"), count: 101).joined(separator: ",") + "]") == 400)
            let big = "[{\"environment\":\"production\",\"events\":[],\"pad\":\"" + String(repeating: "x", count: 300_000) + "\"}]"
            #expect(try await status(big) == 413)
            #expect(server.state.totalAcceptedEvents == 0)
            #expect(server.state.rejectedRequests[400] == 5)
            // A response body explains the refusal.
            let response = try await client.sendBulk(body: Array("{not json".utf8), baseURL: server.baseURL, credentials: ios)
            #expect(response.body.contains("BAD_REQUEST"))
        }
    }

    @Test func theFailureSwitch() async throws {
        try await withSimulator { server, client in
            let ios = FeedCredentials(key: "ios-key", secret: "ios-secret")
            server.state.setFailStatus(503)
            #expect(try await client.sendBulk(body: Array("[\(batch("a"))]".utf8), baseURL: server.baseURL, credentials: ios).status == 503)
            #expect(server.state.totalAcceptedEvents == 0)
            // Switched back over HTTP.
            var request = URLRequest(url: URL(string: server.baseURL + "/_sim/behaviour")!)
            request.httpMethod = "POST"
            request.httpBody = Data("{\"fail_status\":null}".utf8)
            _ = try await URLSession.shared.data(for: request)
            #expect(try await client.sendBulk(body: Array("[\(batch("a"))]".utf8), baseURL: server.baseURL, credentials: ios).status == 202)
        }
    }

    /// `doctor` asks each input with an empty request (`[]`): like mParticle, the simulator checks
    /// the credentials and nothing else (202 with valid ones, 403 with a wrong secret or an
    /// unknown key, 401 without any), and records no batch and no event.
    @Test func anEmptyRequestChecksTheCredentialsOnly() async throws {
        try await withSimulator { server, client in
            let empty = Array("[]".utf8)
            #expect(try await client.sendBulk(body: empty, baseURL: server.baseURL, credentials: FeedCredentials(key: "ios-key", secret: "ios-secret")).status == 202)
            #expect(try await client.sendBulk(body: empty, baseURL: server.baseURL, credentials: FeedCredentials(key: "u-key", secret: "u-secret")).status == 202)
            #expect(try await client.sendBulk(body: empty, baseURL: server.baseURL, credentials: FeedCredentials(key: "ios-key", secret: "nope")).status == 403)
            #expect(try await client.sendBulk(body: empty, baseURL: server.baseURL, credentials: FeedCredentials(key: "nobody", secret: "ios-secret")).status == 403)
            var request = URLRequest(url: URL(string: server.baseURL + "/v2/bulkevents")!)
            request.httpMethod = "POST"
            request.httpBody = Data("[]".utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 401)
            #expect(server.state.totalAcceptedEvents == 0)
            #expect(server.state.counts["ios"]?.batches == 0 && server.state.counts["unbound"]?.batches == 0)
        }
    }

    /// mParticle may send `X-mp-rate-limit-percentage-used` with a 2xx; the simulator does when
    /// told to, and the client reads it.
    @Test func theRateLimitUsageIsSentWhenSet() async throws {
        try await withSimulator { server, client in
            let ios = FeedCredentials(key: "ios-key", secret: "ios-secret")
            #expect(try await client.sendBulk(body: Array("[]".utf8), baseURL: server.baseURL, credentials: ios).rateLimitPercentageUsed == nil)
            var request = URLRequest(url: URL(string: server.baseURL + "/_sim/behaviour")!)
            request.httpMethod = "POST"
            request.httpBody = Data("{\"rate_limit_percentage_used\":37}".utf8)
            _ = try await URLSession.shared.data(for: request)
            #expect(try await client.sendBulk(body: Array("[]".utf8), baseURL: server.baseURL, credentials: ios).rateLimitPercentageUsed == 37)
            #expect(try await client.sendBulk(body: Array("[\(batch("a"))]".utf8), baseURL: server.baseURL, credentials: ios).rateLimitPercentageUsed == 37)
        }
    }

    /// A client that does not retry connections (`doctor`'s) fails at once with the connection's
    /// own error, where the relay's retries until its timeout.
    @Test func aClientThatDoesNotRetryConnectionsFailsAtOnceWithTheCause() async throws {
        let closed = try await SimulatorServer.start(SimulatorConfiguration(feeds: feeds))
        let baseURL = closed.baseURL
        await closed.stop()
        let client = HTTPEventsAPIClient(userAgent: "tests", timeout: .seconds(20), retriesConnections: false)
        let started = ContinuousClock.now
        do {
            _ = try await client.sendBulk(body: Array("[]".utf8), baseURL: baseURL, credentials: FeedCredentials(key: "k", secret: "s"))
            Issue.record("a closed port answered")
        } catch let error as EventsAPITransportError {
            #expect(error.underlying != nil)
            #expect(error.message.contains("refused"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        await client.shutdown()
    }

    @Test func anUnreachableServerIsATransportError() async throws {
        let client = HTTPEventsAPIClient(userAgent: "tests", timeout: .seconds(5))
        await #expect(throws: EventsAPITransportError.self) {
            _ = try await client.sendBulk(body: Array("[]".utf8), baseURL: "http://127.0.0.1:1", credentials: FeedCredentials(key: "k", secret: "s"))
        }
        await client.shutdown()
    }
}

@Suite(.timeLimit(.minutes(10))) struct ValidatorTests {
    func status(_ body: String) -> Int? {
        if case .failure(let refusal) = EventsAPIValidator.validate(body: Array(body.utf8), bulk: true, feed: "f") { return refusal.status }
        return nil
    }

    let good = "{\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\"},\"events\":[{\"event_type\":\"custom_event\",\"data\":{\"event_name\":\"E\",\"custom_event_type\":\"other\",\"timestamp_unixtime_ms\":1}}]}"

    @Test func refusesWhatMParticleRefuses() {
        #expect(status("[\(good)]") == nil)
        #expect(status("[{\"environment\":\"production\",\"user_identities\":{},\"events\":[]}]") == 400)
        #expect(status("[{\"environment\":\"production\",\"events\":[]}]") == 400)
        #expect(status("[{\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\"},\"events\":[{\"event_type\":\"made_up\",\"data\":{}}]}]") == 400)
        #expect(status("[\(good.replacingOccurrences(of: "\"other\"", with: "\"misc\""))]") == 400)
        #expect(status("[\(good.replacingOccurrences(of: "\"timestamp_unixtime_ms\":1", with: "\"timestamp_unixtime_ms\":1.5"))]") == 400)
        #expect(status("[\(good.replacingOccurrences(of: "\"timestamp_unixtime_ms\":1", with: "\"timestamp_unixtime_ms\":1,\"custom_attributes\":{\"a\":[1]}"))]") == 400)
        #expect(status("[\(good.replacingOccurrences(of: "\"environment\":\"production\",", with: ""))]") == 400)
    }

    @Test func batchSizesAreMeasuredOnTheBytesAsSent() {
        let padded = { (count: Int) in
            "{\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\"},\"events\":[],\"pad\":\"\(String(repeating: "/", count: count))\"}"
        }
        let overhead = padded(0).utf8.count
        #expect(status("[\(padded(128 * 1024 - overhead))]") == nil)
        #expect(status("[\(padded(128 * 1024 - overhead + 1))]") == 400)
        #expect(EventsAPIValidator.topLevelElementSizes(Array("[{\"a\":\"]\"}, [1,2] ,\"x,\",3]".utf8)) == [9, 5, 4, 1])
    }
}

/// The Events API's attribute limits (SPEC.md §1): 100 custom attributes per event, 100 user
/// attributes per batch, names ≤ 256 and values ≤ 4,096 characters. Each is checked at the limit
/// (accepted) and one past it (refused), so neither side of the boundary can drift.
@Suite(.timeLimit(.minutes(10))) struct AttributeLimitValidatorTests {
    /// A batch with one event carrying `custom` and the batch carrying `user` attributes.
    static func batch(custom: [String: String] = [:], user: [String: String]? = nil) -> String {
        func object(_ pairs: [String: String]) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: pairs, options: [.sortedKeys]), as: UTF8.self)
        }
        let userPart = user.map { ",\"user_attributes\":\(object($0))" } ?? ""
        return "{\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\"}\(userPart),\"events\":[{\"event_type\":\"custom_event\",\"data\":{\"event_name\":\"E\",\"custom_event_type\":\"other\",\"source_message_id\":\"m\",\"custom_attributes\":\(object(custom))}}]}"
    }

    static func attributes(_ count: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { ("a\($0)", "v") })
    }

    func refusal(_ batch: String) -> EventsAPIValidator.Refusal? {
        if case .failure(let refusal) = EventsAPIValidator.validate(body: Array("[\(batch)]".utf8), bulk: true, feed: "f") { return refusal }
        return nil
    }

    @Test func customAttributesPerEvent() throws {
        #expect(refusal(Self.batch(custom: Self.attributes(100))) == nil)
        let refused = try #require(refusal(Self.batch(custom: Self.attributes(101))))
        #expect(refused.status == 400)
        #expect(refused.message.contains("101 custom attributes; the limit is 100 per event"), "\(refused.message)")
        if case .success(let accepted) = EventsAPIValidator.validate(body: Array("[\(Self.batch(custom: Self.attributes(100)))]".utf8), bulk: true, feed: "f") {
            #expect(accepted.events.map(\.customAttributeCount) == [100])
        } else {
            Issue.record("100 attributes refused")
        }
    }

    @Test func userAttributesPerBatch() {
        #expect(refusal(Self.batch(user: Self.attributes(100))) == nil)
        #expect(refusal(Self.batch(user: Self.attributes(101)))?.message.contains("101 user attributes; the limit is 100 per batch") == true)
        #expect(refusal(Self.batch(user: ["n": String(repeating: "v", count: 4097)]))?.status == 400)
        #expect(refusal("{\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\"},\"user_attributes\":[1],\"events\":[]}")?.status == 400)
    }

    @Test func nameAndValueLengthsInCharacters() {
        #expect(refusal(Self.batch(custom: [String(repeating: "n", count: 256): "v"])) == nil)
        #expect(refusal(Self.batch(custom: [String(repeating: "n", count: 257): "v"]))?.status == 400)
        #expect(refusal(Self.batch(custom: ["n": String(repeating: "v", count: 4096)])) == nil)
        #expect(refusal(Self.batch(custom: ["n": String(repeating: "v", count: 4097)]))?.status == 400)
        // Characters, not bytes: 4,096 two-byte characters are within the limit.
        #expect(refusal(Self.batch(custom: ["n": String(repeating: "é", count: 4096)])) == nil)
    }

    /// Over HTTP the refusal is mParticle's: 400 with `{"errors":[{"code":"BAD_REQUEST","message":...}]}`.
    @Test func anOverLimitRequestGetsMParticlesErrorShape() async throws {
        let server = try await SimulatorServer.start(SimulatorConfiguration(feeds: [SimulatedFeed(name: "ios", key: "k", secret: "s")]))
        let client = HTTPEventsAPIClient(userAgent: "tests")
        let response = try await client.sendBulk(body: Array("[\(Self.batch(custom: Self.attributes(312)))]".utf8), baseURL: server.baseURL,
                                                 credentials: FeedCredentials(key: "k", secret: "s"))
        await client.shutdown()
        await server.stop()
        #expect(response.status == 400)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        let errors = try #require(body["errors"] as? [[String: Any]])
        #expect(errors.first?["code"] as? String == "BAD_REQUEST")
        #expect((errors.first?["message"] as? String)?.contains("312 custom attributes") == true, "\(errors)")
        #expect(server.state.totalAcceptedEvents == 0)
    }
}

@Suite(.timeLimit(.minutes(10))) struct SimulatorFaultTests {
    let feeds = [SimulatedFeed(name: "ios", key: "ios-key", secret: "ios-secret"), SimulatedFeed(name: "web", key: "web-key", secret: "web-secret")]

    func batch(_ id: String, requestID: String? = nil) -> String {
        let requestPart = requestID.map { ",\"source_request_id\":\"\($0)\"" } ?? ""
        return "{\"environment\":\"production\"\(requestPart),\"user_identities\":{\"customerid\":\"u\"},\"events\":[{\"event_type\":\"custom_event\",\"data\":{\"event_name\":\"E\",\"custom_event_type\":\"other\",\"source_message_id\":\"\(id)\"}}]}"
    }

    func post(_ server: SimulatorServer, _ path: String, _ json: String) async throws {
        var request = URLRequest(url: URL(string: server.baseURL + path)!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 204)
    }

    @Test func perFeedScriptsRetryAfterDedupAndRotationOverHTTP() async throws {
        let server = try await SimulatorServer.start(SimulatorConfiguration(feeds: feeds))
        let client = HTTPEventsAPIClient(userAgent: "tests")
        let ios = FeedCredentials(key: "ios-key", secret: "ios-secret")
        let web = FeedCredentials(key: "web-key", secret: "web-secret")
        func send(_ body: String, _ credentials: FeedCredentials) async throws -> EventsAPIResponse {
            try await client.sendBulk(body: Array(body.utf8), baseURL: server.baseURL, credentials: credentials)
        }
        try await post(server, "/_sim/behaviour", "{\"feed\":\"ios\",\"status_script\":[503,429],\"retry_after_s\":2}")
        #expect(try await send("[\(batch("a"))]", ios).status == 503)
        let throttled = try await send("[\(batch("a"))]", ios)
        #expect(throttled.status == 429)
        #expect(throttled.retryAfterSeconds == 2)
        #expect(try await send("[\(batch("w"))]", web).status == 202, "the script is iOS's only")
        #expect(try await send("[\(batch("a"))]", ios).status == 202)

        // De-duplication of source_request_id per key, and the report of what it dropped.
        #expect(try await send("[\(batch("d1", requestID: "r1")),\(batch("d2", requestID: "r2"))]", ios).status == 202)
        #expect(try await send("[\(batch("d1", requestID: "r1"))]", ios).status == 202)
        #expect(server.state.deduplicatedBatches == 1)
        #expect(server.state.acceptedEvents.filter { $0.sourceMessageID == "d1" }.count == 1)

        // Marked events are refused; rotation expires the old secret.
        try await post(server, "/_sim/behaviour", "{\"feed\":\"web\",\"reject_event_ids\":[\"bad\"]}")
        #expect(try await send("[\(batch("ok")),\(batch("bad"))]", web).status == 400)
        try await post(server, "/_sim/credentials", "{\"feed\":\"ios\",\"key\":\"ios-key\",\"secret\":\"rotated\"}")
        #expect(try await send("[\(batch("x"))]", ios).status == 403)
        #expect(try await send("[\(batch("x"))]", FeedCredentials(key: "ios-key", secret: "rotated")).status == 202)
        #expect(server.state.requestLog.filter { $0.feed == "ios" }.map(\.status) == [503, 429, 202, 202, 202, 202])
        await client.shutdown()
        await server.stop()
    }

    @Test func aFailureRateIsReproducibleFromItsSeed() {
        func statuses() -> [SimulatorState.Decision] {
            let state = SimulatorState(feeds: feeds, behaviour: .init(failureRate: 0.5, seed: 99))
            return (0..<40).map { _ in state.decide(feed: "ios") }
        }
        let first = statuses()
        #expect(first == statuses())
        let failures = first.filter { $0 == .fail(503) }.count
        #expect(failures > 8 && failures < 32)
    }
}
