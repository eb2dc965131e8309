/// What to do with Currents types outside the catalogue (Braze adds new ones over time).
public enum UnknownEventTypePolicy: String, Sendable {
    /// Skip with reason `unsupported_event_type` (the default).
    case skip
    /// Send as a custom event named after the Currents type, with DI1 and the external id.
    case send
}
