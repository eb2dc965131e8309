import Relay
import Testing

/// The limiter says whether a request waited, which is how the demo's progress line knows which
/// feed the rate limit holds back.
@Suite struct FeedRateLimiterTests {
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
