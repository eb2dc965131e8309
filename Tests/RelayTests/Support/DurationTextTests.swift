import Testing
@testable import Relay

/// Durations read from configuration values and arguments, and ages written into log lines and
/// dead-letter reasons.
@Suite(.timeLimit(.minutes(10))) struct DurationTextTests {
    @Test func durationsAreReadWithTheirUnits() {
        #expect(DurationText.parse("48h") == .seconds(172_800))
        #expect(DurationText.parse("90m") == .seconds(5400))
        #expect(DurationText.parse("2d") == .seconds(172_800))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("30s") == .seconds(30))
        #expect(DurationText.parse("30") == .seconds(30))
        #expect(DurationText.parse("later") == nil)
        #expect(DurationText.parse("-1h") == nil)
    }

    @Test func agesAreWrittenInHoursFromOneHourOnAndInSecondsBelow() {
        #expect(DurationText.age(172_800_000) == "48.0 h")
        #expect(DurationText.age(5_400_000) == "1.5 h")
        #expect(DurationText.age(3_599_999) == "3599 s")
        #expect(DurationText.age(0) == "0 s")
    }
}
