/// One Braze Currents event, whatever record shape it arrived in.
///
/// The common fields are lifted out; every field (including the common ones) stays in `fields`,
/// flattened from the connector's `user` and `properties` objects, so the mapping can decide what
/// to send without losing fields Braze adds later.
public struct CurrentsEvent: Sendable, Equatable {
    /// The canonical type, e.g. `users.messages.email.Send` (abort spellings normalised).
    public var eventType: String
    /// Globally unique (a UUID); Currents is at-least-once, so mParticle de-duplicates on it.
    public var id: String
    /// UNIX seconds.
    public var time: Int64
    public var fields: [String: JSONValue]

    public init(eventType: String, id: String, time: Int64, fields: [String: JSONValue]) {
        self.eventType = eventType
        self.id = id
        self.time = time
        self.fields = fields
    }

    public subscript(_ name: String) -> JSONValue? { fields[name] }

    public func string(_ name: String) -> String? {
        fields[name]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
    }

}
