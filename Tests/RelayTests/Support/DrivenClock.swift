import Foundation
import Testing
import NIOConcurrencyHelpers
@testable import Relay

/// A clock that stands still until the test moves it: a sleep on it ends only when `advance`
/// passes its deadline (or its task is cancelled).
///
/// Where a test must show that nothing happens for a while (batches linger, events wait), a
/// fixed real sleep shows it only on an idle machine. With this clock, "a while" is time the test
/// moves, and `tick(by:)` returns once the pipeline's ticker has run and gone back to sleep, so
/// the ticks the test asserts about have really happened.
final class DrivenClock: RelayClock {
    private struct Sleeper {
        var deadline: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var nanoseconds: UInt64 = 1_000_000_000
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
        /// Sleeps begun so far (each tick of the pipeline's ticker begins one).
        var sleepsBegun = 0
    }
    private let state = NIOLockedValueBox(State())
    private let wallAtStart = Int64(Date().timeIntervalSince1970 * 1000)

    func monotonicNanoseconds() -> UInt64 { state.withLockedValue { $0.nanoseconds } }

    /// The real wall time when the clock was made, plus the time the test has moved it.
    func wallMilliseconds() -> Int64 { wallAtStart + Int64((monotonicNanoseconds() - 1_000_000_000) / 1_000_000) }

    func sleep(for duration: Duration) async throws {
        let id = state.withLockedValue { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let endsNow = state.withLockedValue { state -> Bool in
                    state.sleepsBegun += 1
                    if Task.isCancelled { return true }
                    let deadline = state.nanoseconds + UInt64(max(0, duration.milliseconds)) * 1_000_000
                    if deadline <= state.nanoseconds { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if endsNow { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves the clock forward and ends the sleeps whose deadline it passes.
    func advance(by duration: Duration) {
        let due = state.withLockedValue { state -> [Sleeper] in
            state.nanoseconds += UInt64(max(0, duration.milliseconds)) * 1_000_000
            let due = state.sleepers.filter { $0.value.deadline <= state.nanoseconds }
            for id in due.keys { state.sleepers[id] = nil }
            return Array(due.values)
        }
        due.forEach { $0.continuation.resume() }
    }

    /// Moves the clock forward by `step`, `times` times, each time waiting until a sleeper (the
    /// pipeline's ticker) has woken, done its work and begun its next sleep.
    func tick(by step: Duration, times: Int = 1) async throws {
        for _ in 0..<times {
            let before = state.withLockedValue { $0.sleepsBegun }
            advance(by: step)
            let deadline = ContinuousClock.now + .seconds(60)
            while state.withLockedValue({ $0.sleepsBegun }) == before {
                guard ContinuousClock.now < deadline else { Issue.record("nothing slept again after the clock moved"); return }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }
}
