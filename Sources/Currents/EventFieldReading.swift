/// Read access to an event's flattened fields, as the mapping needs them: the same questions
/// asked of a decoded `CurrentsEvent` or of a `RecordIndex` over the record's bytes, so both
/// paths share one mapping.
///
/// Fields are named by `FieldKey`, made once per name: the index finds a key by its prefix
/// first, and working that out from a `String` on every question was a sixth of the mapping's
/// time per record.
public protocol EventFieldReading {
    /// A scalar field rendered as text (`JSONValue.scalarText`); nil when absent, null, not a
    /// scalar, or empty.
    func string(_ key: FieldKey) -> String?
    /// A field read as a flag (`JSONValue.boolValue`).
    func bool(_ key: FieldKey) -> Bool?
}

extension EventFieldReading {
    public var externalUserID: String? { string(.externalUserID) }
    /// Lowercased: Braze writes `ios`, some producers `iOS`.
    public var platform: String? { string(.platform)?.lowercased() }
    public var appID: String? { string(.appID) }
}

extension CurrentsEvent: EventFieldReading {
    public func string(_ key: FieldKey) -> String? { string(key.name) }
    public func bool(_ key: FieldKey) -> Bool? { fields[key.name]?.boolValue }
}

extension RecordIndex: EventFieldReading {
    public func string(_ key: FieldKey) -> String? {
        guard let field = field(key), let text = scalarText(field), !text.isEmpty else { return nil }
        return text
    }

    public func bool(_ key: FieldKey) -> Bool? {
        guard let field = field(key) else { return nil }
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
