import Testing
@testable import Currents

@Suite(.timeLimit(.minutes(10))) struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func values() throws {
        #expect(try parse(" {\"a\":[1,-2.5,true,false,null,\"x\"],\"b\":{}} ") == .object([
            "a": .array([.int(1), .double(-2.5), .bool(true), .bool(false), .null, .string("x")]), "b": .object([:]),
        ]))
        #expect(try parse("1e3") == .double(1000))
        #expect(try parse("-0") == .int(0))
        #expect(try parse("9223372036854775807") == .int(Int64.max))
        #expect(try parse("92233720368547758070") == .double(9.223372036854776e19))
        #expect(try parse("{\"k\":1,\"k\":2}") == .object(["k": .int(2)]))
    }

    @Test func strings() throws {
        #expect(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\n\té😀"))
        #expect(try parse("\"héllo\"") == .string("héllo"))
    }

    @Test func refusals() {
        for bad in ["", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "tru", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "\"a\u{01}\"",
                    "NaN", "Infinity", "1 2", "{\"a\":1}x", "\"unterminated", "1e999"] {
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try parse(bad) }
        }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect { try parse(deep) } throws: { "\($0)".contains("nesting deeper") }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect((try? parse(fine)) != nil)
    }
}
