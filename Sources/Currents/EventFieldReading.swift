/// Read access to an event's flattened fields, as the mapping needs them: the same questions
/// asked of a decoded `CurrentsEvent` or of a `RecordIndex` over the record's bytes, so both
/// paths share one mapping.
public protocol EventFieldReading {
    /// A scalar field rendered as text (`JSONValue.scalarText`); nil when absent, null, not a
    /// scalar, or empty.
    func string(_ name: String) -> String?
    /// A field read as a flag (`JSONValue.boolValue`).
    func bool(_ name: String) -> Bool?
}

extension EventFieldReading {
    public var externalUserID: String? { string("external_user_id") }
    /// Lowercased: Braze writes `ios`, some producers `iOS`.
    public var platform: String? { string("platform")?.lowercased() }
    public var appID: String? { string("app_id") }
}

extension CurrentsEvent: EventFieldReading {
    public func bool(_ name: String) -> Bool? { fields[name]?.boolValue }
}

extension RecordIndex: EventFieldReading {
    public func string(_ name: String) -> String? {
        guard let field = field(name), let text = scalarText(field), !text.isEmpty else { return nil }
        return text
    }

    public func bool(_ name: String) -> Bool? {
        guard let field = field(name) else { return nil }
        switch field.kind {
        case .bool: return bytes[Int(field.valueStart)] == UInt8(ascii: "t")
        case .plainString, .escapedString:
            let text = self.text(field)
            return text == "true" ? true : (text == "false" ? false : nil)
        case .integer: return integer(field).map { $0 != 0 }
        case .double, .null, .container: return nil
        }
    }
}
