import Testing
@testable import Relay

/// Exponential backoff with full jitter.
@Suite(.timeLimit(.minutes(10))) struct BackoffTests {
    @Test func backoffStaysWithinItsCeiling() {
        let backoff = Backoff(baseMs: 100, capMs: 5_000)
        #expect(backoff.ceilingMs(attempt: 0) == 100)
        #expect(backoff.ceilingMs(attempt: 3) == 800)
        #expect(backoff.ceilingMs(attempt: 50) == 5_000)
        for attempt in 0..<20 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= .zero && delay <= .milliseconds(backoff.ceilingMs(attempt: attempt)))
        }
    }
}
