import Foundation
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct RelayClockTests {
    /// Linger, backoff and rate limits count in the monotonic clock's nanoseconds: a sleep of
    /// 50 ms must read as 50 ms of them (not microseconds, not a clock that stands still), and
    /// never as more than an independent clock saw around it (the suite runs in parallel, so a
    /// 50 ms sleep can take seconds: only that outer reading bounds it).
    @Test func theMonotonicClockCountsNanosecondsOfRealTime() async throws {
        let clock = SystemRelayClock()
        let outer = ContinuousClock()
        let outerStart = outer.now
        let wallStart = Date()
        let before = clock.monotonicNanoseconds()
        try await clock.sleep(for: .milliseconds(50))
        let after = clock.monotonicNanoseconds()
        let wall = clock.wallMilliseconds()
        let wallEnd = Date()
        let outerElapsed = outerStart.duration(to: outer.now)
        let elapsed = Duration.nanoseconds(Int64(after - before))
        #expect(elapsed >= .milliseconds(50), "\(elapsed) for a 50 ms sleep")
        #expect(elapsed <= outerElapsed + .milliseconds(1), "\(elapsed) against \(outerElapsed) measured around it")
        #expect(clock.monotonicNanoseconds() >= after)
        // The wall clock: UNIX milliseconds, between two `Date` readings around it.
        #expect(wall >= Int64(wallStart.timeIntervalSince1970 * 1000) + 50 && wall <= Int64(wallEnd.timeIntervalSince1970 * 1000) + 1)
    }

    /// The shiftable clock moves wall time only: the 48-hour rule sees the shift, linger does not.
    @Test func shiftingMovesWallTimeNotMonotonicTime() {
        let clock = ShiftableClock()
        let outer = ContinuousClock()
        let outerStart = outer.now
        let wall = clock.wallMilliseconds()
        let monotonic = clock.monotonicNanoseconds()
        clock.advance(by: .seconds(49 * 3_600))
        let moved = clock.monotonicNanoseconds() - monotonic
        let outerElapsed = outerStart.duration(to: outer.now)
        #expect(clock.wallMilliseconds() - wall >= 49 * 3_600_000)
        #expect(Duration.nanoseconds(Int64(moved)) <= outerElapsed + .milliseconds(1), "monotonic time moved by \(moved) ns")
    }
}
