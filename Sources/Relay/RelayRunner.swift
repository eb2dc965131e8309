import Kafka
import Logging
import MParticle

/// Builds the pipeline from a configuration (consumer, mapper, sender, HTTP client) and runs it.
/// The command line and the end-to-end tests use the same wiring.
public final class RelayRunner: Sendable {
    public let pipeline: RelayPipeline
    public let stats: RelayStats
    private let consumer: KafkaConsumer
    private let ownedClient: HTTPEventsAPIClient?
    public let credentials: CredentialStore
    private let logger: Logger

    public init(configuration: RelayConfiguration, logger: Logger, api: (any EventsAPI)? = nil,
                clock: any RelayClock = SystemRelayClock()) throws {
        var logger = logger
        logger[metadataKey: "name"] = "\(configuration.name)"
        self.logger = logger
        var consumerConfiguration = KafkaConsumerConfiguration(
            bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
            clientID: configuration.name, topics: configuration.kafka.topics)
        consumerConfiguration.properties = configuration.kafka.properties
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)

        let client: any EventsAPI
        if let api {
            client = api
            ownedClient = nil
        } else {
            let http = HTTPEventsAPIClient(userAgent: "currents-relay/\(RelayVersion.current) (\(configuration.name))",
                                           timeout: .milliseconds(configuration.delivery.requestTimeoutMs))
            client = http
            ownedClient = http
        }
        let credentials = CredentialStore(configuration.mparticle.feeds)
        self.credentials = credentials
        let stats = RelayStats(name: configuration.name)
        self.stats = stats
        let sender = FeedSender(
            api: client, baseURL: configuration.mparticle.baseURL,
            credentials: { feed in credentials.credentials(for: feed) },
            backoff: Backoff(baseMs: configuration.delivery.retryBaseMs, capMs: configuration.delivery.retryMaxMs),
            clock: clock, stats: stats, logger: logger)
        let mapper = EventMapper(
            environment: configuration.mparticle.environment, identityKey: configuration.mparticle.identity,
            router: FeedRouter(configuredFeeds: Set(configuration.mparticle.feeds.keys), apps: configuration.mparticle.apps),
            selection: EventSelection(include: configuration.mparticle.include, exclude: configuration.mparticle.exclude),
            unknownTypes: configuration.mparticle.unknownTypes)
        pipeline = RelayPipeline(source: consumer, mapper: mapper, sender: sender, settings: .init(configuration.delivery),
                                 clock: clock, stats: stats, logger: logger)
        if configuration.mparticle.feeds.isEmpty {
            logger.warning("no mParticle feed has credentials: every event will be skipped as no_feed")
        }
        for feed in Feed.allCases where configuration.mparticle.feeds[feed] == nil {
            logger.info("feed not configured; its events go to unbound if configured", metadata: ["feed": "\(feed)"])
        }
    }

    /// Joins the group and relays until `shutdown`.
    public func run() async throws {
        try consumer.start()
        logger.info("relay started")
        await pipeline.run()
        await ownedClient?.shutdown()
        logger.info("relay stopped")
    }

    /// Graceful stop: flush, wait for in-flight requests up to `timeout`, commit, leave the group.
    public func shutdown(timeout: Duration = .seconds(30)) async {
        await pipeline.shutdown(timeout: timeout)
    }
}

public enum RelayVersion {
    public static let current = "0.1.0"
}
