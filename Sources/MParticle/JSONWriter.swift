/// Writes JSON straight into bytes. The relay encodes every event once, on the hot path, and needs
/// the exact byte size for mParticle's limits, so it writes bytes rather than building dictionaries.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// A literal already valid as JSON (the writers' keys and punctuation). Only a literal can
    /// be one, so text from a record can never be written unescaped through `raw`.
    public struct Literal: ExpressibleByStringLiteral, Sendable {
        /// A literal `String` is stored in the binary: no allocation.
        let text: String

        public init(stringLiteral text: String) {
            self.text = text
        }
    }

    public mutating func raw(_ literal: Literal) {
        append(literal.text.utf8.span)
    }

    /// Copies bytes in place through an output span. For the short strings written per event,
    /// `append(contentsOf:)` with a `String`'s UTF-8 view (the generic sequence copy) measured
    /// about a third slower. `StaticString.withUTF8Buffer` was faster still for literals, but
    /// hands out an unsafe pointer, and those live only in the Kafka target.
    @inline(__always)
    private mutating func append(_ span: Span<UInt8>) {
        bytes.append(addingCapacity: span.count) { output in
            for index in span.indices { output.append(span[index]) }
        }
    }

    public mutating func raw(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    public mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Through a span of the string's own UTF-8 (no copy, no unsafe pointer).
        let utf8 = value.utf8.span
        // Most strings need no escaping: copy them whole. 0xE2 and 0xEF lead the invisible
        // characters written as escapes below.
        var plain = true
        for index in utf8.indices {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == 0xE2 || byte == 0xEF {
                plain = false
                break
            }
        }
        if plain {
            append(utf8)
        } else {
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                index += 1
                switch byte {
                case 0..<0x80: escapedASCII(byte)
                case 0xE2 where index + 1 < utf8.count && utf8[index] == 0x80 && (utf8[index + 1] == 0xA8 || utf8[index + 1] == 0xA9),
                     0xEF where index + 1 < utf8.count && utf8[index] == 0xBB && utf8[index + 1] == 0xBF:
                    // U+2028, U+2029 (line breaks to JavaScript) and U+FEFF (a byte-order mark to
                    // readers that drop one at the start of a string) travel as escapes.
                    let code = byte == 0xEF ? "feff" : (utf8[index + 1] == 0xA8 ? "2028" : "2029")
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
                    bytes.append(contentsOf: code.utf8)
                    index += 2
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// One ASCII byte of a string's text, escaped as `string` escapes it: `"`, `\\` and control
    /// characters; every other ASCII byte as it is. The direct transcoder re-escapes with this.
    public mutating func escapedASCII(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
        case 0..<0x20:
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
        default: bytes.append(byte)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Bytes already valid as JSON, e.g. a slice of a record (the direct transcoder).
    public mutating func raw(_ other: ArraySlice<UInt8>) {
        bytes.append(contentsOf: other)
    }

    /// Decimal digits written in place: every event carries a 13-digit timestamp, and formatting
    /// it through `String` first was a measurable share of writing an event.
    public mutating func int(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var count = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        var index = start + count - 1
        while magnitude >= 10 {
            bytes[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
            index -= 1
        }
        bytes[index] = UInt8(ascii: "0") + UInt8(magnitude)
    }

    public mutating func double(_ value: Double) {
        if value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                int(Int64(value))
            } else {
                bytes.append(contentsOf: "\(value)".utf8)
            }
        } else {
            raw("null")
        }
    }

    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func value(_ value: AttributeValue) {
        switch value {
        case .string(let text): string(text)
        case .int(let number): int(number)
        case .double(let number): double(number)
        case .bool(let flag): raw(flag ? "true" : "false")
        case .null: raw("null")
        }
    }

    /// An object of a few attributes given as pairs with distinct keys, in the order `object`
    /// writes a dictionary (keys sorted), without building one.
    public mutating func object(pairs: [(String, AttributeValue)]) {
        byte(UInt8(ascii: "{"))
        var first = true
        for (name, attribute) in pairs.count < 2 ? pairs : pairs.sorted(by: { $0.0 < $1.0 }) {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            key(name)
            value(attribute)
        }
        byte(UInt8(ascii: "}"))
    }

    /// An object of attributes, keys sorted so equal objects encode to equal bytes.
    public mutating func object(_ attributes: [String: AttributeValue]) {
        byte(UInt8(ascii: "{"))
        var first = true
        // Sorted pairs: no second lookup per key.
        for (name, attribute) in attributes.sorted(by: { $0.key < $1.key }) {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            key(name)
            value(attribute)
        }
        byte(UInt8(ascii: "}"))
    }
}
