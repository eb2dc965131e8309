/// The scan behind ``RecordIndex/init(_:)``: one pass over a record's bytes that finds its fields
/// and checks the rest is well formed, or gives the record up to the general path.
extension RecordIndex {
    /// The words the scanner looks for: the top level's own keys (compared by prefix, as
    /// fields are) and the literals.
    enum Names {
        static let user = FieldKey("user")
        static let device = FieldKey("device")
        static let properties = FieldKey("properties")
        static let events = FieldKey("events")
        static let eventType = FieldKey("event_type")
        static let `true` = Array("true".utf8)
        static let `false` = Array("false".utf8)
        static let null = Array("null".utf8)
    }

    /// The one pass over the bytes. Every method returns false to give up (general path).
    struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var order: Int32 = 0
        var fields: [Field] = []
        var eventType: Field?
        var seenNested: (user: Bool, device: Bool, properties: Bool) = (false, false, false)

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func record() -> Bool {
            // Int32 offsets; a BOM or anything but an object at the top is for the general path.
            guard bytes.count < Int(Int32.max) else { return false }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
            guard object(level: 0) else { return false }
            skipWhitespace()
            return index == bytes.count
        }

        @inline(__always)
        mutating func skipWhitespace() {
            // Compact JSON has none: one test, then out.
            if index < bytes.count, bytes[index] > 0x20 { return }
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        /// An object whose members become fields at `level` (the top level or an envelope object).
        mutating func object(level: UInt8) -> Bool {
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return true }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return false }
                index += 1
                let keyStart = index
                skipPlainText()
                // Escaped or non-ASCII keys are rare and need the general path's handling.
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), index - keyStart <= RecordIndex.maxKeyBytes else { return false }
                let keyEnd = index
                let key = Key(start: keyStart, end: keyEnd, prefix: prefix(keyStart, keyEnd))
                index += 1
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                index += 1
                skipWhitespace()
                guard index < bytes.count else { return false }
                if level == 0, let nested = nestedLevel(key) {
                    guard envelopeObject(nested) else { return false }
                } else {
                    if level == 0, isKey(key, Names.events) { return false }
                    let valueStart = index
                    guard let kind = value() else { return false }
                    var field = Field(keyStart: Int32(keyStart), keyEnd: Int32(keyEnd), valueStart: Int32(valueStart), valueEnd: Int32(index),
                                      kind: kind, level: level, order: order, prefix: key.prefix)
                    order += 1
                    if kind == .plainString || kind == .escapedString {
                        field.valueStart += 1
                        field.valueEnd -= 1
                        guard field.valueEnd - field.valueStart <= Int32(RecordIndex.maxValueBytes) else { return false }
                    }
                    if level == 0, isKey(key, Names.eventType) {
                        guard eventType == nil else { return false }
                        eventType = field
                    } else {
                        fields.append(field)
                    }
                }
                skipWhitespace()
                guard index < bytes.count else { return false }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return true }
                return false
            }
        }

        /// `user`, `device` or `properties` at the top level: its members are flattened.
        mutating func envelopeObject(_ level: UInt8) -> Bool {
            switch level {
            case 1: guard !seenNested.user else { return false }; seenNested.user = true
            case 2: guard !seenNested.device else { return false }; seenNested.device = true
            default: guard !seenNested.properties else { return false }; seenNested.properties = true
            }
            if bytes[index] == UInt8(ascii: "{") { return object(level: level) }
            // null means absent; anything else is an error the general path words.
            return literal(Names.null)
        }

        /// A key just read: where it is and its first eight bytes (as `Field.prefix`), worked
        /// out once and used both for the field and to recognise the top level's own keys.
        struct Key {
            var start: Int
            var end: Int
            var prefix: UInt64
        }

        func nestedLevel(_ key: Key) -> UInt8? {
            if isKey(key, Names.user) { return 1 }
            if isKey(key, Names.device) { return 2 }
            if isKey(key, Names.properties) { return 3 }
            return nil
        }

        /// By prefix and length first: most keys differ from `name` there.
        func isKey(_ key: Key, _ name: FieldKey) -> Bool {
            key.prefix == name.prefix && key.end - key.start == name.bytes.count
                && (name.bytes.count <= 8 || RecordIndex.compare(bytes[key.start..<key.end], name.bytes[...]) == 0)
        }

        func prefix(_ start: Int, _ end: Int) -> UInt64 {
            FieldKey.prefix(of: bytes[start..<end])
        }

        /// One value; its kind, or nil to give up.
        mutating func value(depth: Int = 0) -> Kind? {
            switch bytes[index] {
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal(Names.true) ? .bool : nil
            case UInt8(ascii: "f"): return literal(Names.false) ? .bool : nil
            case UInt8(ascii: "n"): return literal(Names.null) ? .null : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number(inContainer: depth > 0)
            case UInt8(ascii: "{"), UInt8(ascii: "["): return container(depth: depth + 1) ? .container : nil
            default: return nil
            }
        }

        mutating func literal(_ word: [UInt8]) -> Bool {
            guard index + word.count <= bytes.count, bytes[index..<index + word.count].elementsEqual(word) else { return false }
            index += word.count
            return true
        }

        /// Moves `index` to the first byte at or after it that ends plain text: a quote, a
        /// backslash, a control character or a byte beyond ASCII (or to the end).
        ///
        /// Eight bytes at a time: the keys and strings are most of a record, and testing them a
        /// byte at a time (four comparisons each) was the largest part of the scan.
        @inline(__always)
        mutating func skipPlainText() {
            while index + 8 <= bytes.count {
                let stops = Self.textStops(in: word(at: index))
                if stops != 0 {
                    index += stops.trailingZeroBitCount >> 3
                    return
                }
                index += 8
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return }
                index += 1
            }
        }

        /// Eight bytes from `start` (which has eight after it), the first in the lowest bits. The
        /// compiler reads them with one load.
        @inline(__always)
        func word(at start: Int) -> UInt64 {
            UInt64(bytes[start]) | UInt64(bytes[start + 1]) << 8 | UInt64(bytes[start + 2]) << 16 | UInt64(bytes[start + 3]) << 24
                | UInt64(bytes[start + 4]) << 32 | UInt64(bytes[start + 5]) << 40 | UInt64(bytes[start + 6]) << 48 | UInt64(bytes[start + 7]) << 56
        }

        /// The high bit of each byte of `word` that ends plain text (see `skipPlainText`). Only
        /// the lowest one set is sure to be such a byte (a borrow can mark bytes above it), and
        /// only the lowest one is used.
        @inline(__always)
        static func textStops(in word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let quote = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
            let backslash = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
            // x &- ones & ~x has a byte's high bit set where that byte of x is zero (and, through
            // the borrow, possibly in bytes above a zero byte); word &- 0x20 per byte, likewise,
            // where it is below 0x20. `word` itself has the high bit of every byte beyond ASCII.
            let isQuote = (quote &- ones) & ~quote
            let isBackslash = (backslash &- ones) & ~backslash
            let isControl = (word &- ones &* 0x20) & ~word
            return (isQuote | isBackslash | isControl | word) & (ones &* 0x80)
        }

        mutating func string() -> Kind? {
            index += 1
            var escaped = false
            while true {
                skipPlainText()
                guard index < bytes.count else { return nil }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { index += 1; return escaped ? .escapedString : .plainString }
                // Else a backslash, a control character or a byte beyond ASCII.
                guard byte == UInt8(ascii: "\\"), index + 1 < bytes.count else { return nil }
                escaped = true
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    // Only escapes of ASCII: anything beyond needs UTF-8 (and surrogate) handling.
                    guard let code = Self.hexValue(bytes, at: index + 2), code < 0x80 else { return nil }
                    index += 6
                default:
                    return nil
                }
            }
        }

        static func hexValue(_ bytes: [UInt8], at start: Int) -> UInt32? {
            guard start + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[start..<start + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        mutating func number(inContainer: Bool) -> Kind? {
            let start = index
            func digits() -> Bool {
                let first = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                return index > first
            }
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "0") { index += 1 } else { guard digits() else { return nil } }
            var integral = true
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard digits() else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                integral = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() else { return nil }
            }
            let text = bytes[start..<index]
            if integral {
                // -0 and integers beyond Int64 read differently in the general path (0, a Double).
                guard !text.elementsEqual("-0".utf8), RecordIndex.integerValue(bytes, start..<index) != nil else { return nil }
                return .integer
            }
            // Inside an array or object a number is only checked, never used: leave the subtle ones alone.
            guard !inContainer, let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite else { return nil }
            return .double
        }

        /// Skips an array or object, checking it is well formed (the general path would refuse it otherwise).
        mutating func container(depth: Int) -> Bool {
            guard depth <= 64 else { return false }
            let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == close { index += 1; return true }
            while true {
                skipWhitespace()
                guard index < bytes.count else { return false }
                if close == UInt8(ascii: "}") {
                    guard bytes[index] == UInt8(ascii: "\""), string() != nil else { return false }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                    index += 1
                    skipWhitespace()
                    guard index < bytes.count else { return false }
                }
                guard value(depth: depth) != nil else { return false }
                skipWhitespace()
                guard index < bytes.count else { return false }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == close { index += 1; return true }
                return false
            }
        }
    }
}
