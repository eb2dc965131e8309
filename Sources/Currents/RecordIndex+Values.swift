/// Reading a field's value: its text with escapes resolved, its number, or the text the general
/// path would render for it.
///
/// The scan (``RecordIndex/Scanner``) has checked every value these read, so they do not fail on
/// a field of the kind they accept.
extension RecordIndex {
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
