/// The end of the run (`--timeout`). Every call that may wait is given what is left of it, so the
/// run ends on time even when a broker or mParticle never answers.
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant

    init(after timeout: Duration, from start: ContinuousClock.Instant = .now) {
        instant = start + timeout
    }

    /// What is left, never negative.
    var remaining: Duration { max(.zero, instant - .now) }

    /// A share of what is left, for a call that must leave time to the calls after it (the
    /// brokers' probes leave time for the topics), at least 1 ms.
    func share(_ fraction: Double) -> Duration {
        max(.milliseconds(1), remaining * fraction)
    }

    var hasPassed: Bool { ContinuousClock.now >= instant }
}
