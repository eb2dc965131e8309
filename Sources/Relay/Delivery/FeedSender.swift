import Logging
import MParticle

/// Sends one bulk request to its feed, retrying what is worth retrying.
///
/// 5xx, timeouts and connection errors: exponential backoff with full jitter, no attempt limit
/// (the age limit bounds it). 429: the feed's rate limiter halves its rate and honours
/// `Retry-After`. Everything else ends the attempt with an outcome the pipeline acts on.
/// Cancellation ends it unsettled.
public struct FeedSender: Sendable {
    public var api: any EventsAPI
    public var baseURL: String
    public var credentials: @Sendable (Feed) -> FeedCredentials?
    public var backoff: Backoff
    public var clock: any RelayClock
    public var stats: RelayStats
    public var logger: Logger
    public var limiters: [Feed: FeedRateLimiter]
    /// The 48-hour rule, in milliseconds.
    public var maxAgeMs: Int64

    public init(api: any EventsAPI, baseURL: String, credentials: @escaping @Sendable (Feed) -> FeedCredentials?,
                backoff: Backoff, clock: any RelayClock, stats: RelayStats, logger: Logger,
                maxBatchesPerSecond: Double = Double(RelayConfiguration.DeliverySettings().maxBatchesPerSecondPerFeed),
                maxAgeMs: Int64 = RelayConfiguration.DeadLetterSettings().maxAge.milliseconds, feeds: [Feed] = Feed.allCases) {
        self.api = api
        self.baseURL = baseURL
        self.credentials = credentials
        self.backoff = backoff
        self.clock = clock
        self.stats = stats
        self.logger = logger
        self.maxAgeMs = maxAgeMs
        // One limiter per input: mParticle's batch rate limit is per feed.
        limiters = Dictionary(uniqueKeysWithValues: feeds.map { ($0, FeedRateLimiter(maxBatchesPerSecond: maxBatchesPerSecond, clock: clock)) })
    }

    public func deliver(_ request: BulkRequest) async throws -> DeliveryOutcome {
        let body = request.requestBody
        let feed = request.feed
        var attempt = 0
        while true {
            try Task.checkCancellation()
            if clock.wallMilliseconds() - request.oldestAgeBaseMs > maxAgeMs { return .expired }
            guard let credentials = credentials(feed) else {
                return .unauthorized(status: 0, body: "no credentials configured for the \(feed) feed")
            }
            if try await limiters[feed]!.acquire(batches: request.batches.count) { stats.rateLimitWaited(feed: feed) }
            stats.requestSent(feed: feed)
            let response: EventsAPIResponse
            let started = clock.monotonicNanoseconds()
            do {
                response = try await api.sendBulk(body: body, baseURL: baseURL, credentials: credentials, historical: request.historical)
            } catch let error as EventsAPITransportError {
                stats.transportError(feed: feed, durationNanoseconds: Int64(clamping: clock.monotonicNanoseconds() &- started))
                let wait = backoff.delay(attempt: attempt)
                log(attempt, "mParticle unreachable; will retry", ["feed": "\(feed)", "error": "\(error.message)", "retry_in_ms": "\(wait.milliseconds)"])
                stats.retried(feed: feed)
                try await clock.sleep(for: wait)
                attempt += 1
                continue
            }
            stats.response(feed: feed, status: response.status, durationNanoseconds: Int64(clamping: clock.monotonicNanoseconds() &- started))
            switch response.responseClass {
            case .accepted:
                await limiters[feed]!.succeeded()
                return .accepted
            case .unauthorized:
                return .unauthorized(status: response.status, body: response.body)
            case .rejected:
                return .rejected(status: response.status, body: response.body)
            case .rateLimited:
                await limiters[feed]!.throttled(retryAfterSeconds: response.retryAfterSeconds)
                log(attempt, "mParticle rate limit (429); slowing this feed down", [
                    "feed": "\(feed)", "retry_after_s": "\(response.retryAfterSeconds.map(String.init) ?? "none")",
                    "rate_batches_per_s": "\(Int(await limiters[feed]!.rate))",
                ])
                stats.retried(feed: feed)
                if response.retryAfterSeconds == nil { try await clock.sleep(for: backoff.delay(attempt: attempt)) }
            case .serverError:
                let wait = backoff.delay(attempt: attempt)
                log(attempt, "mParticle answered \(response.status); will retry", [
                    "feed": "\(feed)", "status": "\(response.status)", "events": "\(request.eventCount)",
                    "retry_in_ms": "\(wait.milliseconds)", "body": "\(response.body.prefix(300))",
                ])
                stats.retried(feed: feed)
                try await clock.sleep(for: wait)
            }
            attempt += 1
        }
    }

    /// Warns on the first failure of a request and every tenth after, so a long outage is visible
    /// without flooding the log; the rest go to debug.
    private func log(_ attempt: Int, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        var metadata = metadata
        metadata["attempt"] = "\(attempt + 1)"
        logger.log(level: attempt % 10 == 0 ? .warning : .debug, message, metadata: metadata)
    }
}
