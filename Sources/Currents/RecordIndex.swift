/// A Currents record read in one pass as byte ranges over the record: no `String`, no dictionary
/// and no `JSONValue` per field.
///
/// It reads the common shape only: one connector envelope or flat event whose keys are plain
/// ASCII and whose values are ASCII (escapes allowed) and of ordinary size. Anything else (a parse
/// error, an `events` array, non-ASCII text, a long value, a duplicated `user`, ...) makes the
/// initializer return nil, and the caller takes the general path (`CurrentsDecoder`), which
/// defines the behaviour: the index never decides an error message or an edge case itself.
///
/// Fields are flattened as the decoder flattens them (a top-level field wins over `user`, which
/// wins over `device`, then `properties`; within one object the last duplicate wins) and kept
/// sorted by key bytes, which is the order mParticle attributes are written in.
public struct RecordIndex: Sendable {
    public enum Kind: UInt8, Sendable {
        /// ASCII with no backslash: the bytes between the quotes are the text, and JSON-safe as they are.
        case plainString
        /// ASCII with escapes (none of them beyond U+007F).
        case escapedString
        /// An integer that fits `Int64`, written as Swift writes it (so no `-0`).
        case integer
        /// A number with a fraction or an exponent, finite as a `Double`.
        case double
        case bool
        case null
        /// An array or an object: never an attribute.
        case container
    }

    public struct Field: Sendable {
        public var keyStart: Int32
        public var keyEnd: Int32
        /// The value's bytes; for strings, inside the quotes.
        public var valueStart: Int32
        public var valueEnd: Int32
        public var kind: Kind
        /// 0 top level, 1 `user`, 2 `device`, 3 `properties`: the lower wins a duplicated key.
        var level: UInt8
        /// Position in the record: the later wins a key duplicated within one object.
        var order: Int32
        /// The first eight key bytes, big-endian: most key comparisons end here.
        var prefix: UInt64

        public var keyRange: Range<Int> { Int(keyStart)..<Int(keyEnd) }
        public var valueRange: Range<Int> { Int(valueStart)..<Int(valueEnd) }
    }

    /// Longer keys and values take the general path (it counts characters to cut them to
    /// mParticle's limits; the index has no characters).
    public static let maxKeyBytes = 256
    public static let maxValueBytes = 4096

    public let bytes: [UInt8]
    /// Every field once (the winner of a duplicated key), sorted by key bytes. The top-level
    /// `event_type` is not among them (the decoder removes it from the fields too).
    public private(set) var fields: [Field] = []
    /// The top-level `event_type`, when it is a plain string.
    public private(set) var eventType: Field?

    public init?(_ bytes: [UInt8]) {
        self.bytes = bytes
        var scanner = Scanner(bytes: bytes)
        scanner.fields.reserveCapacity(32)
        guard scanner.record() else { return nil }
        guard let eventType = scanner.eventType, eventType.kind == .plainString else { return nil }
        self.eventType = eventType
        // Taken, not shared: sorting a copy the scanner still held allocated and copied the
        // array once per record.
        var found = scanner.fields
        scanner.fields = []
        Self.keepWinners(&found, in: bytes)
        fields = found
    }

    /// Sorts the fields by key and keeps one per key, in place.
    static func keepWinners(_ fields: inout [Field], in bytes: [UInt8]) {
        func precedes(_ a: Field, _ b: Field) -> Bool {
            let order = compare(a, b, in: bytes)
            if order != 0 { return order < 0 }
            if a.level != b.level { return a.level < b.level }
            return a.order > b.order
        }
        if fields.count > 64 { fields.sort(by: precedes) }
        // Through a span: each store into the array itself checked that it was unique.
        var span = fields.mutableSpan
        if span.count <= 64 {
            // An ordinary record has a few dozen fields: an insertion sort in place needs no
            // buffer (the standard sort allocated one per record) and few moves.
            var next = 1
            while next < span.count {
                let field = span[next]
                var slot = next
                while slot > 0, precedes(field, span[slot - 1]) {
                    span[slot] = span[slot - 1]
                    slot -= 1
                }
                if slot != next { span[slot] = field }
                next += 1
            }
        }
        var kept = 0
        for index in 0..<span.count {
            if kept > 0, compare(span[kept - 1], span[index], in: bytes) == 0 { continue }
            span[kept] = span[index]
            kept += 1
        }
        let removed = span.count - kept
        _ = consume span
        fields.removeLast(removed)
    }

    /// Byte order of two fields' keys: negative, zero or positive.
    static func compare(_ a: Field, _ b: Field, in bytes: [UInt8]) -> Int {
        if a.prefix != b.prefix { return a.prefix < b.prefix ? -1 : 1 }
        return compare(bytes[a.keyRange], bytes[b.keyRange])
    }

    /// Byte order of two keys (for ASCII, the order of Swift's `String` comparison): negative,
    /// zero or positive. Concrete types, not a generic over collections: an unspecialized generic
    /// called from another module boxed its indices and took a third of the transcoder's time.
    public static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        let count = Swift.min(a.count, b.count)
        var i = a.startIndex, j = b.startIndex
        for _ in 0..<count {
            let x = a[i], y = b[j]
            if x != y { return x < y ? -1 : 1 }
            i += 1
            j += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    public static func compare(_ a: ArraySlice<UInt8>, _ b: String.UTF8View) -> Int {
        var i = a.startIndex
        for y in b {
            guard i < a.endIndex else { return -1 }
            let x = a[i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return i == a.endIndex ? 0 : 1
    }

    /// The field named `name`, if any (by prefix first, then by bytes).
    public func field(_ name: String) -> Field? {
        let utf8 = name.utf8
        let prefix = FieldKey.prefix(of: utf8)
        return search { $0.prefix != prefix ? ($0.prefix < prefix ? -1 : 1) : Self.compare(bytes[$0.keyRange], utf8) }
    }

    /// The field named `key`, if any.
    public func field(_ key: FieldKey) -> Field? { search { compare($0, key) } }

    /// Binary search over the sorted keys; `order` compares a field's key with the one sought.
    /// Inlined into both lookups so the comparison is not an indirect call per step.
    @inline(__always)
    private func search(_ order: (Field) -> Int) -> Field? {
        var low = 0, high = fields.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = fields[middle]
            let comparison = order(candidate)
            if comparison == 0 { return candidate }
            if comparison < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// Byte order of a field's key and `key`: negative, zero or positive.
    public func compare(_ field: Field, _ key: FieldKey) -> Int {
        if field.prefix != key.prefix { return field.prefix < key.prefix ? -1 : 1 }
        let length = Int(field.keyEnd - field.keyStart)
        // Equal prefixes: the first eight bytes (or the whole of a shorter key) are equal.
        if length <= 8 || key.bytes.count <= 8 { return length == key.bytes.count ? 0 : (length < key.bytes.count ? -1 : 1) }
        return Self.compare(bytes[field.keyRange], key.bytes[...])
    }

    /// Whether a field's key is `key`.
    public func has(_ field: Field, key: FieldKey) -> Bool {
        field.prefix == key.prefix && Int(field.keyEnd - field.keyStart) == key.bytes.count
            && (key.bytes.count <= 8 || Self.compare(bytes[field.keyRange], key.bytes[...]) == 0)
    }

    /// A field's key as text (ASCII).
    public func key(_ field: Field) -> String { String(decoding: bytes[field.keyRange], as: UTF8.self) }

    /// A string field's text with escapes resolved; nil for other kinds.
    public func text(_ field: Field) -> String? {
        switch field.kind {
        case .plainString: return String(decoding: bytes[field.valueRange], as: UTF8.self)
        case .escapedString:
            var unescaped: [UInt8] = []
            unescaped.reserveCapacity(field.valueRange.count)
            forEachUnescapedByte(field) { unescaped.append($0) }
            return String(decoding: unescaped, as: UTF8.self)
        default: return nil
        }
    }

    /// The value as the decoder's `JSONValue.scalarText` would render it.
    public func scalarText(_ field: Field) -> String? {
        switch field.kind {
        case .plainString, .escapedString: return text(field)
        case .integer: return String(decoding: bytes[field.valueRange], as: UTF8.self)
        case .double: return double(field).map { String($0) }
        case .bool: return bytes[Int(field.valueStart)] == UInt8(ascii: "t") ? "true" : "false"
        case .null, .container: return nil
        }
    }

    public func integer(_ field: Field) -> Int64? {
        field.kind == .integer ? Self.integerValue(bytes, field.valueRange) : nil
    }

    /// The integer JSON writes as these bytes (`-`? digits), or nil when they are not one or it
    /// does not fit `Int64`: for such text, what `Int64(String)` gives, without building the `String`
    /// (two conversions per number were a measurable share of the scan).
    public static func integerValue(_ bytes: [UInt8], _ range: Range<Int>) -> Int64? {
        var index = range.lowerBound
        let negative = index < range.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound else { return nil }
        var value: Int64 = 0
        while index < range.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            // Accumulated with the sign, so Int64.min fits.
            let (scaled, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, carry) = negative ? scaled.subtractingReportingOverflow(Int64(digit)) : scaled.addingReportingOverflow(Int64(digit))
            guard !overflow, !carry else { return nil }
            value = next
            index += 1
        }
        return value
    }

    public func double(_ field: Field) -> Double? {
        field.kind == .double ? Double(String(decoding: bytes[field.valueRange], as: UTF8.self)) : nil
    }

    /// Calls `body` with each byte of an escaped string's text (all ASCII, checked by the scan).
    public func forEachUnescapedByte(_ field: Field, _ body: (UInt8) -> Void) {
        var index = field.valueRange.lowerBound
        let end = field.valueRange.upperBound
        while index < end {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else { body(byte); index += 1; continue }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): body(0x08)
            case UInt8(ascii: "f"): body(0x0C)
            case UInt8(ascii: "n"): body(0x0A)
            case UInt8(ascii: "r"): body(0x0D)
            case UInt8(ascii: "t"): body(0x09)
            case UInt8(ascii: "u"):
                body(UInt8(Scanner.hexValue(bytes, at: index)!))
                index += 4
            default: body(escape) // " \ /
            }
        }
    }
}

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
