/// Currents event type names and their spellings.
public enum CurrentsEventType {
    /// Braze's partner page spells two abort events differently from the glossary; both are accepted.
    static let aliases: [String: String] = [
        "users_campaigns_abort": "users.campaigns.Abort",
        "users_canvas_abort": "users.canvas.Abort",
    ]

    /// The shortest and longest alias, in UTF-8 bytes.
    static let aliasLengths: ClosedRange<Int> = {
        let lengths = aliases.keys.map(\.utf8.count)
        return lengths.min()!...lengths.max()!
    }()

    /// The canonical spelling of a type name.
    ///
    /// Called for every record: a name of no alias's length (a native `String` knows its length)
    /// is returned without hashing it for the lookup.
    public static func canonical(_ name: String) -> String {
        guard aliasLengths.contains(name.utf8.count) else { return name }
        return aliases[name] ?? name
    }

    /// The event type a topic name carries, e.g. `braze.users.messages.email.Send`, if any.
    public static func fromTopicName(_ topic: String) -> String? {
        if let range = topic.range(of: "users.") ?? topic.range(of: "users_") {
            return canonical(String(topic[range.lowerBound...]))
        }
        return nil
    }
}
