import NIOConcurrencyHelpers
@testable import Relay

/// A clock whose time moves only when something sleeps on it: a sleep advances the clock by its
/// duration at once and is recorded. Tests of pacing read what was waited, not how long the
/// machine took, so they pass the same on a loaded machine.
final class SteppedClock: RelayClock {
    private struct State {
        var nanoseconds: UInt64 = 1_000_000_000
        var sleeps: [Duration] = []
    }
    private let state = NIOLockedValueBox(State())

    /// Every sleep so far, in order.
    var sleeps: [Duration] { state.withLockedValue { $0.sleeps } }

    /// The time slept in all, in milliseconds.
    var sleptMilliseconds: Int64 { sleeps.reduce(0) { $0 + $1.milliseconds } }

    func monotonicNanoseconds() -> UInt64 { state.withLockedValue { $0.nanoseconds } }
    func wallMilliseconds() -> Int64 { Int64(monotonicNanoseconds() / 1_000_000) }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        state.withLockedValue {
            $0.sleeps.append(duration)
            $0.nanoseconds += UInt64(max(0, duration.milliseconds)) * 1_000_000
        }
    }
}
