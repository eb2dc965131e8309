import MParticle

/// `CredentialProbe` over the relay's own Events API client, made for asking rather than sending:
/// a connection that fails fails the request at once with its cause, instead of being retried
/// until the timeout.
public final class LiveCredentialProbe: CredentialProbe {
    private let client: HTTPEventsAPIClient

    /// - Parameters:
    ///   - userAgent: The relay's (`currents-relay/VERSION (name)`), so mParticle sees who asks.
    ///   - timeout: The run's (`--timeout`). A request gets nine tenths of it, so that its own
    ///     timeout, which the report turns into the host's line, comes before the run's.
    ///   - verifyCertificates: False only with `mparticle.insecure_skip_tls_verify` (a local
    ///     simulator with a self-signed certificate).
    public init(userAgent: String, timeout: Duration, verifyCertificates: Bool) {
        client = HTTPEventsAPIClient(userAgent: userAgent, timeout: timeout * 0.9, connectionsPerHost: 4,
                                     verifyCertificates: verifyCertificates, retriesConnections: false)
    }

    public func postEmpty(baseURL: String, credentials: FeedCredentials) async -> CredentialProbeOutcome {
        let started = ContinuousClock.now
        do {
            let response = try await client.sendBulk(body: Array("[]".utf8), baseURL: baseURL, credentials: credentials)
            return .answered(status: response.status, roundTrip: ContinuousClock.now - started,
                             rateLimitPercentageUsed: response.rateLimitPercentageUsed)
        } catch {
            return .unreachable(TransportFailure.classify(error))
        }
    }

    /// Closes the client's connections once the run is over, waiting at most `limit`: a
    /// connection still being made to a host that never answers would hold the command until the
    /// client's connect timeout.
    ///
    /// - Returns: False when it stopped waiting; the client is then left open, and the process
    ///   should exit rather than release it.
    public func shutdown(waitingAtMost limit: Duration) async -> Bool {
        let once = ResumeOnce<Bool>()
        let client = self.client
        let closed = await withCheckedContinuation { continuation in
            guard once.install(continuation) else { return }
            Task {
                await client.shutdown()
                once.resume(true)
            }
            Task {
                try? await Task.sleep(for: limit)
                once.resume(false)
            }
        }
        return closed ?? false
    }
}
