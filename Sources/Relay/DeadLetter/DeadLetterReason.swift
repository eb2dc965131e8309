/// Why a message was parked in the dead-letter topic.
public enum DeadLetterReason: String, Sendable, CaseIterable {
    /// Not accepted by mParticle before `dead_letter.max_age` (48 h by default).
    case expired
    /// The record could not be read as Currents events.
    case poison
    /// mParticle refused this one event (400, 413 or another 4xx) after the request was split down to it.
    case rejected
}
