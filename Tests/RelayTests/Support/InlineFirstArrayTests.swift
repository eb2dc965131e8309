import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct InlineFirstArrayTests {
    @Test func holdsWhatAnArrayHoldsInTheSameOrder() {
        for count in 0...5 {
            var inline: InlineFirstArray<Int> = []
            var array: [Int] = []
            for value in 0..<count {
                inline.append(value * 10)
                array.append(value * 10)
            }
            #expect(Array(inline) == array)
            #expect(inline.count == count)
            #expect(inline.isEmpty == (count == 0))
            #expect(inline.last == array.last)
        }
    }

    @Test func updateEachVisitsEveryElementInOrderInPlace() {
        for count in 0...4 {
            var inline: InlineFirstArray<[Int]> = []
            for value in 0..<count { inline.append([value]) }
            var seen: [[Int]] = []
            inline.updateEach { element in
                var taken: [Int] = []
                swap(&taken, &element)
                seen.append(taken)
                element = [-1]
            }
            #expect(seen == (0..<count).map { [$0] })
            // What the body left behind stays in the array.
            #expect(Array(inline) == Array(repeating: [-1], count: count))
        }
    }

    @Test func equalityIsElementWise() {
        let a: InlineFirstArray<String> = ["a", "b"]
        #expect(a == ["a", "b"])
        #expect(a != ["a"])
        #expect(a != ["a", "c"])
        #expect(InlineFirstArray<String>() == [])
    }
}
