import Dispatch
import Kafka
import Logging
import MParticle

/// Builds the pipeline from a configuration (consumer, mapper, sender, dead-letter producer, HTTP
/// client) and runs it. The command line and the end-to-end tests use the same wiring.
public final class RelayRunner: Sendable {
    public let pipeline: RelayPipeline
    public let stats: RelayStats
    public let credentials: CredentialStore
    /// The inputs this relay started with (reloaded credentials are matched to them by name).
    public let catalog: FeedCatalog
    private let consumer: KafkaConsumer
    private let deadLetters: any DeadLetterSink
    private let ownedClient: HTTPEventsAPIClient?
    private let logger: Logger

    /// - Parameters:
    ///   - api: the Events API client; by default an HTTP client to `mparticle.base_url`.
    ///   - deadLetters: where parked messages go; by default the configured dead-letter topic.
    /// Where records come from: the configured group subscription (`run`), or partitions read with
    /// an assignment of their own (`replay`, `dlq redrive`).
    public struct Source: Sendable {
        /// Partition → first offset to read. nil: subscribe to `kafka.topics` as `kafka.group_id`.
        public var assignment: [TopicPartition: Int64]?
        /// The group offsets are read from and committed to; nil for `kafka.group_id`.
        public var groupID: String?
        public var commitsOffsets = true
        /// Stop at these end offsets (exclusive): see `BoundedSource`.
        public var endOffsets: [TopicPartition: Int64]?

        public init(assignment: [TopicPartition: Int64]? = nil, groupID: String? = nil, commitsOffsets: Bool = true,
                    endOffsets: [TopicPartition: Int64]? = nil) {
            self.assignment = assignment
            self.groupID = groupID
            self.commitsOffsets = commitsOffsets
            self.endOffsets = endOffsets
        }

        public static let group = Source()
    }

    /// Set when the source is bounded: progress, and completion once every range is settled.
    public let bounded: BoundedSource?

    public init(configuration: RelayConfiguration, logger: Logger, api: (any EventsAPI)? = nil,
                deadLetters: (any DeadLetterSink)? = nil, clock: any RelayClock = SystemRelayClock(),
                source: Source = .group, settings: RelayPipeline.Settings? = nil) throws {
        var logger = logger
        logger[metadataKey: "name"] = "\(configuration.name)"
        self.logger = logger
        let stats = RelayStats(name: configuration.name, feeds: configuration.mparticle.catalog.feeds)
        self.stats = stats

        var consumerConfiguration = KafkaConsumerConfiguration(
            bootstrapServers: configuration.kafka.bootstrapServers, groupID: source.groupID ?? configuration.kafka.groupID,
            clientID: configuration.name, topics: configuration.kafka.topics)
        consumerConfiguration.properties = configuration.kafka.properties
        consumerConfiguration.assignment = source.assignment
        consumerConfiguration.commitsOffsets = source.commitsOffsets
        if let instance = configuration.kafka.groupInstanceID, source.assignment == nil {
            consumerConfiguration.properties["group.instance.id"] = instance
        }
        consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        consumer.setStatisticsHandler { [stats] statistics in stats.consumerStatistics(statistics) }
        consumer.setFetcherWakeHandler { [stats] in stats.fetcherWoken() }
        let recordSource: any RecordSource
        if let ends = source.endOffsets, let starts = source.assignment {
            let bounded = BoundedSource(inner: consumer, starts: starts, ends: ends, forwardOffsets: source.commitsOffsets)
            self.bounded = bounded
            recordSource = bounded
        } else {
            bounded = nil
            recordSource = consumer
        }

        if let deadLetters {
            self.deadLetters = deadLetters
        } else {
            var producerConfiguration = KafkaProducerConfiguration(
                bootstrapServers: configuration.kafka.bootstrapServers, clientID: "\(configuration.name)-dead-letter")
            producerConfiguration.properties = configuration.kafka.properties.filter { Self.isSharedProperty($0.key) }
            let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
            self.deadLetters = KafkaDeadLetterSink(producer: producer, topic: configuration.deadLetter.topic, stats: stats, logger: logger)
        }

        let client: any EventsAPI
        if let api {
            client = api
            ownedClient = nil
        } else {
            let http = HTTPEventsAPIClient(userAgent: "currents-relay/\(RelayVersion.current) (\(configuration.name))",
                                           timeout: .milliseconds(configuration.delivery.requestTimeoutMs),
                                           verifyCertificates: !configuration.mparticle.insecureSkipTLSVerify)
            client = http
            ownedClient = http
        }
        let credentials = CredentialStore(configuration.mparticle.feeds)
        catalog = configuration.mparticle.catalog
        self.credentials = credentials
        let sender = FeedSender(
            api: client, baseURL: configuration.mparticle.baseURL,
            credentials: { feed in credentials.credentials(for: feed) },
            backoff: Backoff(baseMs: configuration.delivery.retryBaseMs, capMs: configuration.delivery.retryMaxMs),
            clock: clock, stats: stats, logger: logger,
            maxBatchesPerSecond: Double(configuration.delivery.maxBatchesPerSecondPerFeed),
            maxAgeMs: configuration.deadLetter.maxAge.milliseconds, feeds: configuration.mparticle.catalog.feeds)
        var mapper = EventMapper(
            environment: configuration.mparticle.environment, identityKey: configuration.mparticle.identity,
            router: configuration.mparticle.router,
            selection: EventSelection(include: configuration.mparticle.include, exclude: configuration.mparticle.exclude),
            unknownTypes: configuration.mparticle.unknownTypes)
        mapper.perEventBatches = configuration.delivery.dedup == .perEvent
        pipeline = RelayPipeline(source: recordSource, mapper: mapper, sender: sender, deadLetters: self.deadLetters,
                                 settings: settings ?? .init(configuration), clock: clock, stats: stats, logger: logger)
        // On revoke, the poll thread waits (bounded) for the revoked partitions' work to settle.
        // Weakly: the pipeline holds the consumer, and a strong reference back kept both (and the
        // consumer's broker connections) alive after the relay stopped.
        let pipeline = self.pipeline
        let drainTimeout = Duration.milliseconds(configuration.kafka.drainTimeoutMs)
        consumer.setRevokeHook { [weak pipeline] partitions in
            guard let pipeline else { return }
            let done = DispatchSemaphore(value: 0)
            Task {
                await pipeline.drain(partitions, timeout: drainTimeout)
                done.signal()
            }
            _ = done.wait(timeout: .now() + .milliseconds(Int(drainTimeout.milliseconds) + 1000))
        }
        if configuration.mparticle.feeds.isEmpty {
            logger.warning("no mParticle feed has credentials: every event will be skipped as no_feed")
        }
        let workspace = configuration.mparticle.workspaceFeed
        for feed in Feed.allCases where configuration.mparticle.feeds[feed] == nil {
            logger.info("feed not configured; its events go to the workspace-level input if configured", metadata: ["feed": "\(feed)", "workspace_feed": "\(workspace)"])
        }
        for (feed, first) in configuration.mparticle.sharedKeys.sorted(by: { $0.key < $1.key }) {
            logger.info("feeds share a key: one mParticle input, sent as the first", metadata: ["feed": "\(feed)", "sent_as": "\(first)"])
        }
    }

    /// Connection and security properties that the dead-letter producer shares with the consumer.
    static func isSharedProperty(_ name: String) -> Bool {
        ["security.protocol", "sasl.", "ssl.", "client.dns.lookup", "broker.address.family", "socket.", "reconnect.", "debug"]
            .contains { name == $0 || name.hasPrefix($0) }
    }

    /// Joins the group (or takes its assignment) and relays until `shutdown`.
    public func run() async throws {
        if let bounded {
            // A bounded run ends by itself once every range is settled.
            let pipeline = self.pipeline
            Task {
                await bounded.waitUntilDone()
                await pipeline.shutdown(timeout: .seconds(30))
            }
        }
        try consumer.start()
        logger.info("relay started")
        await pipeline.run()
        await deadLetters.close()
        await ownedClient?.shutdown()
        logger.info("relay stopped")
    }

    /// Graceful stop: flush, wait for in-flight requests up to `timeout`, commit, leave the group.
    public func shutdown(timeout: Duration = .seconds(30)) async {
        await pipeline.shutdown(timeout: timeout)
    }

    /// New credentials (a reload after a key rotation) take effect on the next attempt.
    ///
    /// Matched to the running inputs by name (`FeedCatalog.matchingByName`). Inputs added to the
    /// file take effect at the next start (said in the log), as do a changed app map and newly
    /// shared keys: routing is fixed at start.
    public func updateCredentials(_ feeds: [Feed: FeedCredentials]) {
        let (matched, unknown) = catalog.matchingByName(feeds)
        credentials.replace(with: matched)
        logger.notice("credentials reloaded", metadata: [
            "feeds": "\(matched.keys.sorted().map { "\($0)=\(matched[$0]!.redactedKey)" }.joined(separator: " "))",
        ])
        if !unknown.isEmpty {
            logger.warning("inputs added to the configuration take effect at the next start", metadata: ["feeds": "\(unknown.joined(separator: ","))"])
        }
    }
}
