/// Currents event type names and their spellings.
public enum CurrentsEventType {
    /// Braze's partner page spells two abort events differently from the glossary; both are accepted.
    static let aliases: [String: String] = [
        "users_campaigns_abort": "users.campaigns.Abort",
        "users_canvas_abort": "users.canvas.Abort",
    ]

    /// The canonical spelling of a type name.
    public static func canonical(_ name: String) -> String {
        aliases[name] ?? name
    }

    /// The event type a topic name carries, e.g. `braze.users.messages.email.Send`, if any.
    public static func fromTopicName(_ topic: String) -> String? {
        if let range = topic.range(of: "users.") ?? topic.range(of: "users_") {
            return canonical(String(topic[range.lowerBound...]))
        }
        return nil
    }
}
