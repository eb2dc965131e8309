import Logging
import MParticle
@testable import Relay
import Testing

/// The limiter paces a feed by what it is owed, on a clock that moves only when it sleeps: the
/// tests read what was waited, not how long the machine took.
@Suite(.timeLimit(.minutes(10))) struct FeedRateLimiterTests {
    /// The bucket starts full (a second's worth goes at once); past it, a request waits for its
    /// batches at the rate, and says it waited, which is how the demo's progress line knows which
    /// feed the rate limit holds back.
    @Test func acquireWaitsForItsBatchesAtTheRateAndSaysSo() async throws {
        let clock = SteppedClock()
        let limiter = FeedRateLimiter(maxBatchesPerSecond: 100, clock: clock)
        #expect(try await limiter.acquire(batches: 100) == false)
        #expect(clock.sleeps.isEmpty)
        #expect(try await limiter.acquire(batches: 10) == true)
        #expect(clock.sleptMilliseconds == 100, "10 batches at 100 per second: \(clock.sleeps)")
    }

    /// A 429 halves the rate (never below the floor) whether or not it says when to retry; each
    /// 202 adds a step back, up to the configured rate.
    @Test func a429HalvesTheRateAndEach202GrowsItBack() async throws {
        let clock = SteppedClock()
        let limiter = FeedRateLimiter(maxBatchesPerSecond: 100, minBatchesPerSecond: 20, increasePerSuccess: 5, clock: clock)
        await limiter.throttled(retryAfterSeconds: nil)
        #expect(await limiter.rate == 50)
        await limiter.throttled(retryAfterSeconds: nil)
        await limiter.throttled(retryAfterSeconds: nil)
        #expect(await limiter.rate == 20, "the floor")
        // The bucket holds no more than the halved rate: 20 batches go, the next 10 wait half a second.
        #expect(try await limiter.acquire(batches: 20) == false)
        #expect(try await limiter.acquire(batches: 10) == true)
        #expect(clock.sleptMilliseconds == 500, "\(clock.sleeps)")
        for _ in 0..<4 { await limiter.succeeded() }
        #expect(await limiter.rate == 40)
        for _ in 0..<100 { await limiter.succeeded() }
        #expect(await limiter.rate == 100, "no higher than the configured rate")
    }

    /// `Retry-After` holds every request until it has passed, and counts as a wait.
    @Test func aRetryAfterPauseHoldsRequestsUntilItHasPassed() async throws {
        let clock = SteppedClock()
        let limiter = FeedRateLimiter(maxBatchesPerSecond: 1000, clock: clock)
        await limiter.throttled(retryAfterSeconds: 2)
        #expect(try await limiter.acquire(batches: 1) == true)
        #expect(clock.sleptMilliseconds == 2_000, "\(clock.sleeps)")
        #expect(try await limiter.acquire(batches: 1) == false, "once it has passed, the bucket has tokens")
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
