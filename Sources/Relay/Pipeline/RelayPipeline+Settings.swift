import Kafka

extension RelayPipeline {
    /// What the pipeline needs of the configuration: the delivery limits and the age rule, plus
    /// what `replay` and `dlq redrive` change about it.
    public struct Settings: Sendable {
        public var lingerMs: Int
        public var maxInFlightRequestsPerFeed: Int
        public var maxInFlightMessages: Int
        public var maxInFlightBytes: Int
        /// The 48-hour rule.
        public var maxAge: Duration
        /// How often a blocked feed is probed with the current credentials.
        public var authProbeInterval: Duration
        /// Count a record's age from when this run read it, not from its Kafka timestamp: `replay`
        /// and `dlq redrive` send old records on purpose, and the age limit then bounds their own
        /// delivery attempts.
        public var ageFromFirstRead = false
        /// Events whose `time` is older than this go to `/v2/bulkevents/historical` (mParticle's
        /// regular endpoints should not carry data older than 30 days).
        public var historicalAfter: Duration = .seconds(30 * 24 * 3600)
        /// Records this returns false for are settled unsent, counted as `filtered`
        /// (`dlq redrive --reason/--since`).
        public var recordFilter: (@Sendable (KafkaMessage) -> Bool)?
        /// The records are dead-letter records: decode with the source topic from their headers, and
        /// send only the one event a per-event record was parked for.
        public var redrive = false

        /// The defaults are the configuration's (`RelayConfiguration.DeliverySettings`), written
        /// once there: this copy of them had to be changed in step.
        public init(lingerMs: Int = RelayConfiguration.DeliverySettings().lingerMs,
                    maxInFlightRequestsPerFeed: Int = RelayConfiguration.DeliverySettings().maxInFlightRequestsPerFeed,
                    maxInFlightMessages: Int = RelayConfiguration.DeliverySettings().maxInFlightMessages,
                    maxInFlightBytes: Int = RelayConfiguration.DeliverySettings().maxInFlightBytes,
                    maxAge: Duration = RelayConfiguration.DeadLetterSettings().maxAge,
                    authProbeInterval: Duration = .milliseconds(RelayConfiguration.DeliverySettings().authProbeIntervalMs)) {
            self.lingerMs = lingerMs
            self.maxInFlightRequestsPerFeed = maxInFlightRequestsPerFeed
            self.maxInFlightMessages = maxInFlightMessages
            self.maxInFlightBytes = maxInFlightBytes
            self.maxAge = maxAge
            self.authProbeInterval = authProbeInterval
        }

        public init(_ configuration: RelayConfiguration) {
            let delivery = configuration.delivery
            self.init(lingerMs: delivery.lingerMs, maxInFlightRequestsPerFeed: delivery.maxInFlightRequestsPerFeed,
                      maxInFlightMessages: delivery.maxInFlightMessages, maxInFlightBytes: delivery.maxInFlightBytes,
                      maxAge: configuration.deadLetter.maxAge, authProbeInterval: .milliseconds(delivery.authProbeIntervalMs))
        }
    }
}
