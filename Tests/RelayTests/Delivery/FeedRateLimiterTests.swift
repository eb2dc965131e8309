import Logging
import MParticle
@testable import Relay
import Testing

/// The limiter says whether a request waited, which is how the demo's progress line knows which
/// feed the rate limit holds back.
@Suite(.timeLimit(.minutes(10))) struct FeedRateLimiterTests {
    @Test func acquireSaysWhetherItWaitedForTheRate() async throws {
        let limiter = FeedRateLimiter(maxBatchesPerSecond: 100, clock: SystemRelayClock())
        // The bucket starts full: a second's worth goes at once.
        #expect(try await limiter.acquire(batches: 100) == false)
        let started = ContinuousClock.now
        #expect(try await limiter.acquire(batches: 10) == true)
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func aRetryAfterPauseCountsAsAWait() async throws {
        let limiter = FeedRateLimiter(maxBatchesPerSecond: 1000, clock: SystemRelayClock())
        await limiter.throttled(retryAfterSeconds: 1)
        #expect(try await limiter.acquire(batches: 1) == true)
    }
}

/// The sender counts, per feed, the requests its rate limiter held back: the snapshot the demo's
/// progress line reads and `currents_relay_rate_limited_requests_total{feed}`.
@Suite(.timeLimit(.minutes(10))) struct RateLimitedRequestsTests {
    @Test func requestsThatWaitOnTheLimiterAreCountedForTheirFeed() async throws {
        let stats = RelayStats(name: "rate-limited")
        let sender = FeedSender(api: AcceptEverything(), baseURL: "http://unused", credentials: { _ in FeedCredentials(key: "k", secret: "s") },
                                backoff: Backoff(baseMs: 1, capMs: 5), clock: SystemRelayClock(), stats: stats, logger: Logger(label: "test"),
                                maxBatchesPerSecond: 20)
        let batch = EncodedBatch(header: Array("{}".utf8), events: [Array("{}".utf8)])
        let request = BulkRequest(feed: .web, batches: Array(repeating: batch, count: 20), units: [])
        _ = try await sender.deliver(request)
        #expect(stats.snapshot.rateLimitWaits[.web] == nil, "the first second's worth goes at once")
        _ = try await sender.deliver(request)
        #expect(stats.snapshot.rateLimitWaits == [.web: 1])
    }
}

/// Answers 202 to everything, reading nothing.
struct AcceptEverything: EventsAPI {
    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        EventsAPIResponse(status: 202)
    }
}
