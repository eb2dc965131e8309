import Foundation
import Testing
@testable import Relay

@Suite struct RelayClockTests {
    /// Linger, backoff and rate limits count in the monotonic clock's nanoseconds: a sleep of
    /// 50 ms must read as 50 ms of them (not microseconds, not a clock that stands still), and
    /// the clock never goes back.
    @Test func theMonotonicClockCountsNanosecondsOfRealTime() async throws {
        let clock = SystemRelayClock()
        let wallBefore = clock.wallMilliseconds()
        let before = clock.monotonicNanoseconds()
        try await clock.sleep(for: .milliseconds(50))
        let after = clock.monotonicNanoseconds()
        #expect(after >= before + 50_000_000, "\(after - before) ns for a 50 ms sleep")
        #expect(after - before < 10_000_000_000, "\(after - before) ns for a 50 ms sleep")
        #expect(clock.monotonicNanoseconds() >= after)
        #expect(abs(clock.wallMilliseconds() - Int64(Date().timeIntervalSince1970 * 1000)) < 1_000)
        #expect(clock.wallMilliseconds() - wallBefore >= 50)
    }

    /// The shiftable clock moves wall time only: the 48-hour rule sees the shift, linger does not.
    @Test func shiftingMovesWallTimeNotMonotonicTime() {
        let clock = ShiftableClock()
        let wall = clock.wallMilliseconds()
        let monotonic = clock.monotonicNanoseconds()
        clock.advance(by: .seconds(49 * 3_600))
        #expect(clock.wallMilliseconds() - wall >= 49 * 3_600_000)
        #expect(clock.monotonicNanoseconds() - monotonic < 1_000_000_000)
    }
}
