import Testing
@testable import Currents

/// The scanner's shortcuts against the rules they stand for.
@Suite(.timeLimit(.minutes(10))) struct RecordIndexScanTests {
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
    /// The word-at-a-time skip over plain text stops where a byte-at-a-time loop stops: at the
    /// first quote, backslash, control character or byte beyond ASCII, from any start, with
    /// such bytes (and their neighbours, where the word arithmetic could go wrong) anywhere in
    /// the words and in the tail shorter than a word.
    @Test func skippingPlainTextStopsWhereAByteLoopStops() {
        let edges: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0x81, 0xA2, 0xDC, 0xFF]
        func stops(_ byte: UInt8) -> Bool { byte == 0x22 || byte == 0x5C || byte < 0x20 || byte >= 0x80 }
        var random = SplitMix64(seed: 5)
        var checked = 0
        for _ in 0..<50_000 {
            let count = Int(random.next() % 40)
            var bytes = (0..<count).map { _ in UInt8(ascii: "a") + UInt8(random.next() % 26) }
            // Most runs get one to three bytes from the edges, some none.
            for _ in 0..<Int(random.next() % 4) where count > 0 {
                bytes[Int(random.next() % UInt64(count))] = edges[Int(random.next() % UInt64(edges.count))]
            }
            let start = count == 0 ? 0 : Int(random.next() % UInt64(count + 1))
            var scanner = RecordIndex.Scanner(bytes: bytes)
            scanner.index = start
            scanner.skipPlainText()
            let expected = bytes[start...].firstIndex(where: stops) ?? count
            #expect(scanner.index == expected, "\(bytes) from \(start)")
            if expected < count { checked += 1 }
        }
        // The loop above must have met stops, not only plain runs.
        #expect(checked > 10_000)
    }
}
