/// Exponential backoff with full jitter: attempt n waits a uniform random time in
/// [0, min(cap, base · 2ⁿ)], so many relays retrying together do not stampede mParticle.
public struct Backoff: Sendable {
    public var baseMs: Int
    public var capMs: Int

    /// For the relay's own Kafka I/O that must succeed before a record can settle (reading a
    /// record again to park it, writing a dead-letter record): 200 ms, doubling to 10 s.
    public static let kafka = Backoff(baseMs: 200, capMs: 10_000)

    public init(baseMs: Int, capMs: Int) {
        self.baseMs = max(1, baseMs)
        self.capMs = max(self.baseMs, capMs)
    }

    /// The upper bound of the wait before retry `attempt` (0-based).
    public func ceilingMs(attempt: Int) -> Int {
        let exponent = min(attempt, 30)
        let grown = baseMs.multipliedReportingOverflow(by: 1 << exponent)
        return grown.overflow ? capMs : min(capMs, grown.partialValue)
    }

    public func delay<G: RandomNumberGenerator>(attempt: Int, using generator: inout G) -> Duration {
        .milliseconds(Int.random(in: 0...ceilingMs(attempt: attempt), using: &generator))
    }

    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
