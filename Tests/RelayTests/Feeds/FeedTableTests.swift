import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct FeedTableTests {
    @Test func eachFeedHasItsOwnValueChangedInPlace() {
        var table = FeedTable { [$0.rawValue] }
        table[.web].append("more")
        #expect(table[.ios] == ["ios"] && table[.android] == ["android"] && table[.unbound] == ["unbound"])
        #expect(table[.web] == ["web", "more"])
        #expect(table.all.map(\.first) == Feed.allCases.map(\.rawValue))
    }

    @Test func ordinalIsThePositionInAllCasesAndFeedsHashApart() {
        #expect(Feed.allCases.map(\.ordinal) == Array(0..<Feed.allCases.count))
        #expect(Feed.allCases.sorted() == Feed.allCases)
        #expect(Set(Feed.allCases.map(\.hashValue)).count == Feed.allCases.count)
        let counts = Dictionary(Feed.allCases.map { ($0, $0.ordinal) }, uniquingKeysWith: +)
        #expect(counts[.unbound] == 3 && counts.count == 4)
    }
}
