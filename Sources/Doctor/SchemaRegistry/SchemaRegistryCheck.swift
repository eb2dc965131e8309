/// The Schema Registry's place in the run: reachable, authenticated, and how many subjects it
/// holds.
///
/// **Extension point.** The configuration has no registry settings yet (another issue adds them,
/// with the Avro decoding that needs them). When it does, a live implementation of this protocol
/// asks the configured registry for its subjects (`GET /subjects`, with the configured
/// credentials) and says which of the three failed: the host (name, TLS, connection, as
/// `TransportFailure` reads it), the credentials (401/403), or nothing (the subject count).
/// `Doctor` then takes it instead of `SchemaRegistryNotConfigured`; the report, the JSON and the
/// exit status need no change.
public protocol SchemaRegistryCheck: Sendable {
    /// The registry's line, within `timeout`.
    func check(timeout: Duration) async -> DoctorCheck
}

/// What the run reports while the configuration has no registry: not checked, not failed.
public struct SchemaRegistryNotConfigured: SchemaRegistryCheck {
    public init() {}

    public func check(timeout: Duration) async -> DoctorCheck {
        .skipped("schema registry", "not configured: the relay reads Currents JSON, which needs no registry")
    }
}
