/// Paces one feed's requests: a token bucket of batches per second whose rate halves on every 429
/// and grows back by a step on every 202 (additive increase, multiplicative decrease), and a pause
/// until `Retry-After` has passed.
public actor FeedRateLimiter {
    public let maxRate: Double
    public let minRate: Double
    public let increase: Double
    private(set) public var rate: Double
    private var tokens: Double
    private var updatedAt: UInt64
    private var pausedUntil: UInt64 = 0
    private let clock: any RelayClock

    public init(maxBatchesPerSecond: Double, minBatchesPerSecond: Double = 5, increasePerSuccess: Double = 5, clock: any RelayClock) {
        maxRate = max(1, maxBatchesPerSecond)
        minRate = min(max(1, minBatchesPerSecond), maxRate)
        increase = increasePerSuccess
        rate = maxRate
        tokens = maxRate
        self.clock = clock
        updatedAt = clock.monotonicNanoseconds()
    }

    /// Waits until `batches` may be sent. Returns whether it had to wait (the feed is at its
    /// rate, or paused by a `Retry-After`), so a progress line can say what a drain waits on.
    @discardableResult
    public func acquire(batches: Int) async throws -> Bool {
        let needed = Double(min(batches, Int(maxRate)))
        var waited = false
        while true {
            let now = clock.monotonicNanoseconds()
            refill(now)
            if now < pausedUntil {
                waited = true
                try await clock.sleep(for: .nanoseconds(Int64(pausedUntil - now)))
                continue
            }
            if tokens >= needed {
                tokens -= needed
                return waited
            }
            waited = true
            let seconds = (needed - tokens) / rate
            try await clock.sleep(for: .milliseconds(max(1, Int64(seconds * 1000))))
        }
    }

    /// A 429: halve the rate and, with `Retry-After`, send nothing before it has passed.
    public func throttled(retryAfterSeconds: Int?) {
        rate = max(minRate, rate / 2)
        tokens = min(tokens, rate)
        if let seconds = retryAfterSeconds, seconds > 0 {
            pausedUntil = max(pausedUntil, clock.monotonicNanoseconds() + UInt64(seconds) * 1_000_000_000)
        }
    }

    /// A 202: recover gradually.
    public func succeeded() {
        rate = min(maxRate, rate + increase)
    }

    private func refill(_ now: UInt64) {
        let elapsed = Double(now &- updatedAt) / 1e9
        updatedAt = now
        tokens = min(max(rate, 100), tokens + elapsed * rate)
    }
}
