import Kafka
import Metrics
import NIOConcurrencyHelpers

/// The relay's counters, kept for summaries, status lines and tests, and mirrored to swift-metrics
/// (and so to `/metrics`). Labels carry the integration name so several relays can share a dashboard.
///
/// Metric handles are created once (per feed, reason, topic or status) and reused: the hot path
/// pays an increment, not a registry lookup.
public final class RelayStats: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var recordsConsumed = 0
        public var recordsByTopic: [String: Int] = [:]
        public var eventsDecoded = 0
        public var eventsAccepted: [Feed: Int] = [:]
        /// mParticle batches (one user's events) in accepted requests: against `eventsAccepted`,
        /// how well events were grouped.
        public var batchesAccepted: [Feed: Int] = [:]
        public var skipped: [SkipReason: Int] = [:]
        public var requests: [Feed: Int] = [:]
        public var responses: [Int: Int] = [:]
        /// Requests that had to wait for their feed's rate limiter (its batches-per-second ceiling,
        /// or a 429's Retry-After), by feed: which feeds the limit is holding back.
        public var rateLimitWaits: [Feed: Int] = [:]
        public var transportErrors = 0
        public var retries = 0
        public var offsetsStored = 0
        public var resultsForRevokedPartitions = 0
        /// Attributes cut to mParticle's per-event limits, all kinds (`attributesTruncatedByKind` splits them).
        public var attributesTruncated = 0
        public var attributesTruncatedByKind: [TruncationKind: Int] = [:]
        public var parked: [DeadLetterReason: Int] = [:]
        public var blockedFeeds: Set<Feed> = []
        /// When each blocked feed was blocked (wall milliseconds).
        public var blockedSinceMs: [Feed: Int64] = [:]
        public var deadLetterWriteFailures = 0
        /// Records read again from Kafka to be parked (`RecordSource.reread`).
        public var recordsReread = 0
        /// Events parked without their source record, which was gone from Kafka when it was read
        /// again (retention): the dead-letter record holds the mParticle batch instead, by reason.
        public var parkedWithoutOriginal: [DeadLetterReason: Int] = [:]
        /// Reads of records to park that failed (brokers down) and were tried again.
        public var rereadFailures = 0
        public var rebalances = 0
        public var inFlightRecords = 0
        public var inFlightBytes = 0
        public var pausedPartitions = 0
        /// Per-partition consumer lag from librdkafka's statistics (the last report).
        public var lag: [TopicPartition: Int64] = [:]
        /// Whether the last statistics report showed a broker connection up.
        public var brokerReachable: Bool?

        public var totalParked: Int { parked.values.reduce(0, +) }
        public var totalAccepted: Int { eventsAccepted.values.reduce(0, +) }
        public var totalBatchesAccepted: Int { batchesAccepted.values.reduce(0, +) }
        public var totalSkipped: Int { skipped.values.reduce(0, +) }
        public var totalRequests: Int { requests.values.reduce(0, +) }
        public var totalLag: Int64 { lag.values.reduce(0, +) }
    }

    /// Handles made once per label set, on first use.
    private struct Handles {
        var consumed: [String: Counter] = [:]
        var responses: [String: Counter] = [:]
        var lag: [TopicPartition: Gauge] = [:]
    }

    private let state = NIOLockedValueBox(Snapshot())
    private let handles = NIOLockedValueBox(Handles())
    let name: String

    private let skippedCounters: [SkipReason: Counter]
    private let sentCounters: [Feed: Counter]
    private let batchCounters: [Feed: Counter]
    private let requestCounters: [Feed: Counter]
    private let transportCounters: [Feed: Counter]
    private let retryCounters: [Feed: Counter]
    private let rateLimitedCounters: [Feed: Counter]
    private let parkedCounters: [Feed?: [DeadLetterReason: Counter]]
    private let blockedGauges: [Feed: Gauge]
    private let requestLatency: [Feed: Timer]
    private let deliveryLatency: [Feed: Timer]
    private let truncatedCounters: [Feed: [TruncationKind: Counter]]
    private let decodedCounter: Counter
    private let deadLetterFailures: Counter
    private let rereadCounter: Counter
    private let rereadFailureCounter: Counter
    private let withoutOriginalCounters: [Feed?: [DeadLetterReason: Counter]]
    private let revokedResults: Counter
    private let rebalanceCounter: Counter
    private let fetcherWakeCounter: Counter
    private let inFlightRecordsGauge: Gauge
    private let inFlightBytesGauge: Gauge
    private let pausedGauge: Gauge
    private let lagTotalGauge: Gauge

    /// Metrics for `feeds`: every input of the relay's catalogue (the built-in four by default).
    public init(name: String, feeds: [Feed] = Feed.allCases) {
        self.name = name
        let base: [(String, String)] = [("name", name)]
        func perFeed<T>(_ make: (Feed) -> T) -> [Feed: T] {
            Dictionary(uniqueKeysWithValues: feeds.map { ($0, make($0)) })
        }
        skippedCounters = Dictionary(uniqueKeysWithValues: SkipReason.allCases.map {
            ($0, Counter(label: "currents_relay_events_skipped_total", dimensions: base + [("reason", $0.rawValue)]))
        })
        sentCounters = perFeed { Counter(label: "currents_relay_events_sent_total", dimensions: base + [("feed", $0.rawValue)]) }
        batchCounters = perFeed { Counter(label: "currents_relay_batches_sent_total", dimensions: base + [("feed", $0.rawValue)]) }
        requestCounters = perFeed { Counter(label: "currents_relay_requests_total", dimensions: base + [("feed", $0.rawValue)]) }
        transportCounters = perFeed { Counter(label: "currents_relay_transport_errors_total", dimensions: base + [("feed", $0.rawValue)]) }
        retryCounters = perFeed { Counter(label: "currents_relay_retries_total", dimensions: base + [("feed", $0.rawValue)]) }
        rateLimitedCounters = perFeed { Counter(label: "currents_relay_rate_limited_requests_total", dimensions: base + [("feed", $0.rawValue)]) }
        var parked: [Feed?: [DeadLetterReason: Counter]] = [:]
        for feed in feeds.map(Optional.some) + [nil] {
            parked[feed] = Dictionary(uniqueKeysWithValues: DeadLetterReason.allCases.map {
                ($0, Counter(label: "currents_relay_dead_lettered_total", dimensions: base + [("reason", $0.rawValue), ("feed", feed?.rawValue ?? "none")]))
            })
        }
        parkedCounters = parked
        var withoutOriginal: [Feed?: [DeadLetterReason: Counter]] = [:]
        for feed in feeds.map(Optional.some) + [nil] {
            withoutOriginal[feed] = Dictionary(uniqueKeysWithValues: DeadLetterReason.allCases.map {
                ($0, Counter(label: "currents_relay_dead_lettered_without_original_total", dimensions: base + [("reason", $0.rawValue), ("feed", feed?.rawValue ?? "none")]))
            })
        }
        withoutOriginalCounters = withoutOriginal
        rereadCounter = Counter(label: "currents_relay_records_reread_total", dimensions: base)
        rereadFailureCounter = Counter(label: "currents_relay_reread_failures_total", dimensions: base)
        blockedGauges = perFeed { Gauge(label: "currents_relay_feed_blocked", dimensions: base + [("feed", $0.rawValue)]) }
        requestLatency = perFeed { Timer(label: "currents_relay_request_duration_seconds", dimensions: base + [("feed", $0.rawValue)], preferredDisplayUnit: .seconds) }
        deliveryLatency = perFeed { Timer(label: "currents_relay_delivery_latency_seconds", dimensions: base + [("feed", $0.rawValue)], preferredDisplayUnit: .seconds) }
        // Labelled by feed and kind since the 100-attribute limit joined the length cuts; a
        // query summing the metric (the only way to read it before) sums the same cuts.
        truncatedCounters = perFeed { feed in
            Dictionary(uniqueKeysWithValues: TruncationKind.allCases.map {
                ($0, Counter(label: "currents_relay_attributes_truncated_total", dimensions: base + [("feed", feed.rawValue), ("kind", $0.rawValue)]))
            })
        }
        decodedCounter = Counter(label: "currents_relay_events_decoded_total", dimensions: base)
        deadLetterFailures = Counter(label: "currents_relay_dead_letter_write_failures_total", dimensions: base)
        revokedResults = Counter(label: "currents_relay_results_for_revoked_partitions_total", dimensions: base)
        rebalanceCounter = Counter(label: "currents_relay_rebalances_total", dimensions: base)
        fetcherWakeCounter = Counter(label: "currents_relay_kafka_fetcher_wakeups_total", dimensions: base)
        inFlightRecordsGauge = Gauge(label: "currents_relay_in_flight_records", dimensions: base)
        inFlightBytesGauge = Gauge(label: "currents_relay_in_flight_bytes", dimensions: base)
        pausedGauge = Gauge(label: "currents_relay_paused_partitions", dimensions: base)
        lagTotalGauge = Gauge(label: "currents_relay_consumer_lag_total", dimensions: base)
        for gauge in blockedGauges.values { gauge.record(0) }
    }

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    func consumed(records: Int, topic: String) {
        state.withLockedValue {
            $0.recordsConsumed += records
            $0.recordsByTopic[topic, default: 0] += records
        }
        let counter = handles.withLockedValue { handles in
            if let counter = handles.consumed[topic] { return counter }
            let counter = Counter(label: "currents_relay_records_consumed_total", dimensions: [("name", name), ("topic", topic)])
            handles.consumed[topic] = counter
            return counter
        }
        counter.increment(by: records)
    }

    /// Events read from records (good or bad): each is then sent, parked or skipped. The pipeline
    /// adds a batch of records' events at once.
    func decoded(events: Int) {
        state.withLockedValue { $0.eventsDecoded += events }
        decodedCounter.increment(by: events)
    }

    func skipped(_ reason: SkipReason, count: Int = 1) {
        state.withLockedValue { $0.skipped[reason, default: 0] += count }
        skippedCounters[reason]!.increment(by: count)
    }

    func requestSent(feed: Feed) {
        state.withLockedValue { $0.requests[feed, default: 0] += 1 }
        requestCounters[feed]!.increment()
    }

    /// An answer from mParticle, by feed, status class (`2xx`, `4xx`, `5xx`) and status, with the
    /// request's duration.
    func response(feed: Feed, status: Int, durationNanoseconds: Int64? = nil) {
        state.withLockedValue { $0.responses[status, default: 0] += 1 }
        let key = "\(feed.rawValue)/\(status)"
        let counter = handles.withLockedValue { handles in
            if let counter = handles.responses[key] { return counter }
            let counter = Counter(label: "currents_relay_responses_total", dimensions: [
                ("name", name), ("feed", feed.rawValue), ("class", "\(status / 100)xx"), ("status", String(status)),
            ])
            handles.responses[key] = counter
            return counter
        }
        counter.increment()
        if let durationNanoseconds { requestLatency[feed]!.recordNanoseconds(durationNanoseconds) }
    }

    func rateLimitWaited(feed: Feed) {
        state.withLockedValue { $0.rateLimitWaits[feed, default: 0] += 1 }
        rateLimitedCounters[feed]!.increment()
    }

    func transportError(feed: Feed, durationNanoseconds: Int64? = nil) {
        state.withLockedValue { $0.transportErrors += 1 }
        transportCounters[feed]!.increment()
        if let durationNanoseconds { requestLatency[feed]!.recordNanoseconds(durationNanoseconds) }
    }

    func retried(feed: Feed) {
        state.withLockedValue { $0.retries += 1 }
        retryCounters[feed]!.increment()
    }

    /// Events accepted by mParticle; `latenciesMs` are record timestamp → 202, one per event.
    func accepted(feed: Feed, events: Int, batches: Int, latenciesMs: [Int64] = []) {
        state.withLockedValue {
            $0.eventsAccepted[feed, default: 0] += events
            $0.batchesAccepted[feed, default: 0] += batches
        }
        sentCounters[feed]!.increment(by: events)
        batchCounters[feed]!.increment(by: batches)
        let timer = deliveryLatency[feed]!
        for latency in latenciesMs { timer.recordNanoseconds(max(0, latency) * 1_000_000) }
    }

    /// One event's (or several of one feed's) cuts to mParticle's per-event limits.
    func truncated(feed: Feed, _ cuts: AttributeTruncations) {
        guard !cuts.isEmpty else { return }
        state.withLockedValue {
            $0.attributesTruncated += cuts.total
            for kind in TruncationKind.allCases where cuts[kind] > 0 { $0.attributesTruncatedByKind[kind, default: 0] += cuts[kind] }
        }
        let counters = truncatedCounters[feed]!
        for kind in TruncationKind.allCases where cuts[kind] > 0 { counters[kind]!.increment(by: cuts[kind]) }
    }

    func parked(_ reason: DeadLetterReason, feed: Feed?) {
        state.withLockedValue { $0.parked[reason, default: 0] += 1 }
        parkedCounters[feed]![reason]!.increment()
    }

    /// Unsettled records and bytes, and how many partitions are paused (sampled as they change).
    func inFlight(records: Int, bytes: Int, pausedPartitions: Int) {
        state.withLockedValue {
            $0.inFlightRecords = records
            $0.inFlightBytes = bytes
            $0.pausedPartitions = pausedPartitions
        }
        inFlightRecordsGauge.record(records)
        inFlightBytesGauge.record(bytes)
        pausedGauge.record(pausedPartitions)
    }

    /// `count` records to park were read again from Kafka (found or not).
    func reread(records count: Int) {
        state.withLockedValue { $0.recordsReread += count }
        rereadCounter.increment(by: count)
    }

    func rereadFailed() {
        state.withLockedValue { $0.rereadFailures += 1 }
        rereadFailureCounter.increment()
    }

    /// An event was parked with what the relay had (its mParticle batch), its record being gone.
    func parkedWithoutOriginal(_ reason: DeadLetterReason, feed: Feed?) {
        state.withLockedValue { $0.parkedWithoutOriginal[reason, default: 0] += 1 }
        withoutOriginalCounters[feed]![reason]!.increment()
    }

    func deadLetterWriteFailed() {
        state.withLockedValue { $0.deadLetterWriteFailures += 1 }
        deadLetterFailures.increment()
    }

    func feedBlocked(_ feed: Feed, _ blocked: Bool, atMs: Int64 = 0) {
        state.withLockedValue {
            if blocked {
                $0.blockedFeeds.insert(feed)
                $0.blockedSinceMs[feed] = atMs
            } else {
                $0.blockedFeeds.remove(feed)
                $0.blockedSinceMs[feed] = nil
            }
        }
        blockedGauges[feed]!.record(blocked ? 1 : 0)
    }

    func stored(offsets: Int) {
        state.withLockedValue { $0.offsetsStored += offsets }
    }

    func droppedForRevokedPartition(count: Int) {
        state.withLockedValue { $0.resultsForRevokedPartitions += count }
        revokedResults.increment(by: count)
    }

    func rebalanced() {
        state.withLockedValue { $0.rebalances += 1 }
        rebalanceCounter.increment()
    }

    /// The consumer woke librdkafka's fetchers after its prefetch queue filled and ran dry (one
    /// ListOffsets request per leader broker).
    public func fetcherWoken() {
        fetcherWakeCounter.increment()
    }

    /// A librdkafka statistics report: per-partition lag, and whether any broker is up.
    public func consumerStatistics(_ statistics: KafkaStatistics) {
        let gone = state.withLockedValue { state -> [TopicPartition] in
            let gone = state.lag.keys.filter { statistics.lag[$0] == nil }
            state.lag = statistics.lag
            state.brokerReachable = statistics.brokersUp > 0
            return gone
        }
        let gauges = handles.withLockedValue { handles -> [(Gauge, Int64)] in
            var result: [(Gauge, Int64)] = []
            for partition in gone { if let gauge = handles.lag[partition] { result.append((gauge, 0)) } }
            for (partition, lag) in statistics.lag {
                let gauge = handles.lag[partition] ?? Gauge(label: "currents_relay_consumer_lag", dimensions: [
                    ("name", name), ("topic", partition.topic), ("partition", String(partition.partition)),
                ])
                handles.lag[partition] = gauge
                result.append((gauge, lag))
            }
            return result
        }
        for (gauge, value) in gauges { gauge.record(value) }
        lagTotalGauge.record(statistics.lag.values.reduce(0, +))
    }
}
