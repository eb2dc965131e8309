import MParticle

/// What the mParticle checks ask mParticle: the only I/O they do, behind a protocol so tests
/// drive every answer (403, 400, 503, a name that does not resolve, a certificate that does not
/// verify) without a server.
public protocol CredentialProbe: Sendable {
    /// Posts an empty request (`[]`) to `/v2/bulkevents` under `baseURL` with an input's key and
    /// secret. It carries no data; mParticle answers it only after checking the credentials, so
    /// 401 or 403 means they are refused, and any other answer that they were taken.
    func postEmpty(baseURL: String, credentials: FeedCredentials) async -> CredentialProbeOutcome
}

/// What one empty request came to.
public enum CredentialProbeOutcome: Sendable, Equatable {
    /// mParticle answered: the status, the round trip, and `X-mp-rate-limit-percentage-used` when
    /// it was sent.
    case answered(status: Int, roundTrip: Duration, rateLimitPercentageUsed: Double?)
    /// No answer: why.
    case unreachable(TransportFailure)
}
