/// Settings for a consumer in a consumer group.
///
/// The typed fields are the ones currents-relay decides; `properties` passes anything else to
/// librdkafka unchanged (security.protocol, sasl.*, ssl.*, session.timeout.ms, ...), and wins over
/// the typed fields where both set the same property, so operators keep full control.
public struct KafkaConsumerConfiguration: Sendable {
    public var bootstrapServers: String
    public var groupID: String
    public var clientID: String
    /// Topic names, or regular expressions starting with `^`.
    public var topics: [String]
    /// Where a partition without a committed offset starts.
    public var autoOffsetReset: String = "earliest"
    public var assignmentStrategy: String = "cooperative-sticky"
    /// Upper bound on records handed over per poll-thread batch.
    public var maxBatchSize: Int = 1000
    /// Records handed over but not yet `handled` by the owner; above it the poll thread pauses
    /// fetching (and keeps polling), so a slow owner bounds memory however large the backlog.
    public var maxBufferedMessages: Int = 5000
    public var properties: [String: String] = [:]
    /// When set, the consumer reads exactly these partitions from these offsets (see `KafkaOffset`
    /// for the logical ones) by itself, without joining the group or rebalancing, instead of
    /// subscribing to `topics`. `replay` and `dlq redrive` read this way.
    public var assignment: [TopicPartition: Int64]?
    /// When false, nothing is ever committed to `groupID` (`replay` leaves the group's offsets alone).
    public var commitsOffsets = true

    public init(bootstrapServers: String, groupID: String, clientID: String = "currents-relay", topics: [String]) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.clientID = clientID
        self.topics = topics
    }

    /// The full librdkafka property set, in the order it is applied.
    var librdkafkaProperties: [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("group.id", groupID),
            ("client.id", clientID),
            ("auto.offset.reset", autoOffsetReset),
            ("partition.assignment.strategy", assignmentStrategy),
            // Offsets are stored by us, only for settled messages, and committed by librdkafka.
            ("enable.auto.commit", commitsOffsets ? "true" : "false"),
            ("enable.auto.offset.store", "false"),
            // librdkafka commits the stored watermarks every 5 s by default: a crash then resends
            // up to 5 s of accepted events, and lag seen from outside trails by as much. One
            // commit request a second per member costs the broker nothing. Overridable.
            ("auto.commit.interval.ms", "1000"),
            ("enable.partition.eof", "false"),
            // Lag and broker state for /metrics and /health/ready.
            ("statistics.interval.ms", "5000"),
            // librdkafka's prefetch (a 64 MB queue and 50 MB fetches by default) is part of the
            // relay's memory bound, and buys no speed: the fetcher's wake keeps the queue fed.
            // Bench (1M events, 20,000 in flight): peak RSS ~146 MB with an 8 MB queue and 8 MB
            // fetches, ~129 MB with only the fetches at 2 MB, ~119 MB with 2 MB of each, at the same
            // speed and CPU. (At a 16 MB queue, a quarter of the runs peaked at 151-160 MB.) A fetch
            // of 2 MB per round trip to a leader is still ~200 MB/s at 10 ms; farther brokers may
            // want more (`kafka.properties`).
            ("queued.max.messages.kbytes", "2048"),
            ("fetch.max.bytes", "2097152"),
        ]
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        // The commit rule itself; an override would silently break invariant 1.
        result += [("enable.auto.offset.store", "false")]
        if !commitsOffsets { result += [("enable.auto.commit", "false")] }
        return result
    }
}

/// Settings for a producer (dead-letter topic, seeding, tests).
public struct KafkaProducerConfiguration: Sendable {
    public var bootstrapServers: String
    public var clientID: String
    /// `all` by default: a dead-lettered message is only settled once every in-sync replica has it.
    public var acks: String = "all"
    public var idempotent: Bool = true
    public var lingerMs: Int = 5
    public var compression: String = "lz4"
    public var properties: [String: String] = [:]

    public init(bootstrapServers: String, clientID: String = "currents-relay") {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
    }

    var librdkafkaProperties: [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("client.id", clientID),
            ("acks", acks),
            ("enable.idempotence", idempotent ? "true" : "false"),
            ("linger.ms", String(lingerMs)),
            ("compression.type", compression),
            // A dead-letter record is its source record plus headers, and a source topic may allow
            // records above librdkafka's 1 MB default: the broker's own limit decides.
            ("message.max.bytes", "67108864"),
        ]
        result += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return result
    }
}
