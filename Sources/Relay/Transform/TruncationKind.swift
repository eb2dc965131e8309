import MParticle

/// How an attribute was cut to the Events API's per-event limits: the `kind` label of
/// `currents_relay_attributes_truncated_total`. mParticle refuses or trims an event over them out
/// of our control, so the relay cuts first and counts every cut (nothing is lost silently).
public enum TruncationKind: String, Sendable, CaseIterable {
    /// An attribute left out because the event had more than 100 custom attributes.
    case count
    /// A name cut to 256 characters.
    case nameLength = "name_length"
    /// A string value cut to 4,096 characters.
    case valueLength = "value_length"
}
