import Logging
import MParticle

/// Sends one bulk request to its feed until mParticle accepts it.
///
/// This is the walking skeleton's policy: any answer other than 202, and any transport error, is
/// retried after exponential backoff with full jitter, with no attempt limit, so nothing is lost
/// and nothing is settled before a 202. (Splitting on 400, blocking on 401/403 and the 48-hour
/// dead-letter rule refine this in later work.) Cancellation ends the attempt unsettled.
public struct FeedSender: Sendable {
    public var api: any EventsAPI
    public var baseURL: String
    public var credentials: @Sendable (Feed) -> FeedCredentials?
    public var backoff: Backoff
    public var clock: any RelayClock
    public var stats: RelayStats
    public var logger: Logger

    public init(api: any EventsAPI, baseURL: String, credentials: @escaping @Sendable (Feed) -> FeedCredentials?,
                backoff: Backoff, clock: any RelayClock, stats: RelayStats, logger: Logger) {
        self.api = api
        self.baseURL = baseURL
        self.credentials = credentials
        self.backoff = backoff
        self.clock = clock
        self.stats = stats
        self.logger = logger
    }

    /// Returns when the request got a 202; throws `CancellationError` when cancelled first.
    public func deliver(_ request: BulkRequest) async throws {
        let body = request.body
        var attempt = 0
        while true {
            try Task.checkCancellation()
            guard let credentials = credentials(request.feed) else {
                // Routing only sends to configured feeds; credentials vanishing means a reload removed them.
                logger.error("feed has no credentials; holding its events", metadata: ["feed": "\(request.feed)"])
                try await clock.sleep(for: backoff.delay(attempt: attempt))
                attempt += 1
                continue
            }
            stats.requestSent(feed: request.feed)
            do {
                let response = try await api.sendBulk(body: body, baseURL: baseURL, credentials: credentials)
                stats.response(feed: request.feed, status: response.status)
                if response.responseClass == .accepted { return }
                let wait: Duration
                if response.status == 429, let seconds = response.retryAfterSeconds {
                    wait = .seconds(seconds)
                } else {
                    wait = backoff.delay(attempt: attempt)
                }
                logger.warning("mParticle refused a request; will retry", metadata: [
                    "feed": "\(request.feed)", "status": "\(response.status)", "events": "\(request.eventCount)",
                    "attempt": "\(attempt + 1)", "retry_in_ms": "\(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)",
                    "body": "\(response.body.prefix(300))",
                ])
                stats.retried(feed: request.feed)
                try await clock.sleep(for: wait)
            } catch let error as EventsAPITransportError {
                stats.transportError(feed: request.feed)
                let wait = backoff.delay(attempt: attempt)
                logger.warning("mParticle unreachable; will retry", metadata: [
                    "feed": "\(request.feed)", "error": "\(error.message)", "attempt": "\(attempt + 1)",
                ])
                stats.retried(feed: request.feed)
                try await clock.sleep(for: wait)
            }
            attempt += 1
        }
    }
}
