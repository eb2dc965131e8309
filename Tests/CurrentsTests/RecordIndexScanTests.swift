import Testing
@testable import Currents

/// The scanner's shortcuts against the rules they stand for.
@Suite struct RecordIndexScanTests {
    @Test(arguments: [
        "0", "7", "-7", "10", "1767225000", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999", "-0", "-", "", "1a", "+1", "12-3",
    ])
    func integersReadAsInt64ReadsThem(_ text: String) {
        let bytes = Array("[\(text)]".utf8)
        // JSON has no plus sign; `Int64` takes one.
        let expected = text.hasPrefix("+") ? nil : Int64(text)
        #expect(RecordIndex.integerValue(bytes, 1..<(bytes.count - 1)) == expected, "\(text)")
    }

    @Test func randomIntegersReadAsInt64ReadsThem() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<100_000 {
            let draw = random.next()
            let digits = Int(draw % 21) + 1
            var text = draw & 1 << 40 != 0 ? "-" : ""
            for position in 0..<digits {
                text.append(Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8((random.next() >> 5) % (position == 0 ? 9 : 10)) + (position == 0 ? 1 : 0))))
            }
            let bytes = Array(text.utf8)
            #expect(RecordIndex.integerValue(bytes, 0..<bytes.count) == Int64(text), "\(text)")
        }
    }

    /// Strings of every short length with an escaped quote, a non-ASCII byte or a raw control
    /// character at each position: the text reads back, the number after it still reads, and
    /// the bytes JSON does not allow there make the index refuse the record.
    @Test func stringsOfEveryLengthAndEveryEscapePositionIndexAsTheyRead() throws {
        for length in 0..<40 {
            let plain = String(repeating: "x", count: length)
            let record = try #require(RecordIndex(Array(#"{"event_type":"t","s":"\#(plain)","n":1}"#.utf8)))
            let field = try #require(record.field("s"))
            #expect(record.text(field) == plain && field.kind == .plainString)
            #expect(record.field("n").flatMap(record.integer) == 1)
            for position in 0..<length {
                var escaped = Array(plain)
                escaped[position] = "\""
                let text = String(escaped)
                let json = #"{"event_type":"t","s":"\#(text.map { $0 == "\"" ? #"\""# : String($0) }.joined())","n":2}"#
                let withEscape = try #require(RecordIndex(Array(json.utf8)), "\(json)")
                let escapedField = try #require(withEscape.field("s"))
                #expect(withEscape.text(escapedField) == text && escapedField.kind == .escapedString, "\(json)")
                #expect(withEscape.field("n").flatMap(withEscape.integer) == 2)
                var nonASCII = Array(plain)
                nonASCII[position] = "é"
                #expect(RecordIndex(Array(#"{"event_type":"t","s":"\#(String(nonASCII))"}"#.utf8)) == nil)
                var control = Array(plain.utf8)
                control[position] = 0x09
                #expect(RecordIndex(Array(#"{"event_type":"t","s":""#.utf8) + control + Array(#""}"#.utf8)) == nil)
            }
        }
    }
}
