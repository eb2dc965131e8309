import Doctor
import MParticle
import NIOConcurrencyHelpers

/// mParticle as the checks see it: an answer (or no answer) per key, and a count of the requests
/// each key got.
final class FakeMParticle: CredentialProbe {
    let outcomes: [String: CredentialProbeOutcome]
    let fallback: CredentialProbeOutcome
    private let asked = NIOLockedValueBox<[String: Int]>([:])
    private let secrets = NIOLockedValueBox<[String]>([])

    static let accepted = CredentialProbeOutcome.answered(status: 202, roundTrip: .milliseconds(34), rateLimitPercentageUsed: nil)

    init(_ outcomes: [String: CredentialProbeOutcome] = [:], otherwise fallback: CredentialProbeOutcome = FakeMParticle.accepted) {
        self.outcomes = outcomes
        self.fallback = fallback
    }

    func postEmpty(baseURL: String, credentials: FeedCredentials) async -> CredentialProbeOutcome {
        asked.withLockedValue { $0[credentials.key, default: 0] += 1 }
        return outcomes[credentials.key] ?? fallback
    }

    /// Requests per key.
    var requests: [String: Int] { asked.withLockedValue { $0 } }
}
