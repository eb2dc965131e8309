import Kafka
import Logging
import NIOConcurrencyHelpers
import Relay

/// `KafkaAccess` over librdkafka: a probe client per broker address, and one inspector (the
/// client `offsets show` uses) over the whole bootstrap list for topics, offsets and retention.
public final class LiveKafkaAccess: KafkaAccess {
    private let properties: [String: String]
    private let bootstrapServers: String
    private let logger: Logger
    private let inspectors: InspectorCache

    /// - Parameters:
    ///   - bootstrapServers: `kafka.bootstrap_servers`.
    ///   - properties: `kafka.properties`, security settings included.
    ///   - logger: Where librdkafka's own log lines go (`doctor` keeps them quiet: its report
    ///     says the same, per broker).
    public init(bootstrapServers: String, properties: [String: String], logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.logger = logger
        inspectors = InspectorCache()
    }

    public func brokers(at address: String, timeout: Duration) -> Result<[KafkaBroker], KafkaError> {
        KafkaBrokerProbe.brokers(at: address, properties: properties, timeout: timeout, logger: logger)
    }

    public func topicNames(timeout: Duration) throws -> [String] {
        try inspector(group: nil).topics(timeoutMs: Self.milliseconds(timeout))
    }

    public func partitionCount(of topic: String, timeout: Duration) throws -> Int {
        try inspector(group: nil).partitions(of: topic, timeoutMs: Self.milliseconds(timeout)).count
    }

    public func groupOffsets(group: String, topics: [String], timeout: Duration) throws -> GroupOffsets {
        let lookup = BoundedLookup(inspector: try inspector(group: group), timeoutMs: Self.milliseconds(timeout))
        return try GroupOffsets.read(topics: topics, only: nil, lookup: lookup)
    }

    public func retention(of topic: String, timeout: Duration) -> TopicRetention {
        do {
            return TopicRetention(configuration: try inspector(group: nil).topicConfiguration(topic, timeoutMs: Self.milliseconds(timeout)))
        } catch let error as KafkaError {
            return .unknown(error.message)
        } catch {
            return .unknown("\(error)")
        }
    }

    /// One inspector per group id (the committed offsets are the group's), made on first use.
    private func inspector(group: String?) throws -> KafkaInspector {
        let group = group ?? "currents-relay-doctor"
        return try inspectors.inspector(group: group) {
            try KafkaInspector(bootstrapServers: bootstrapServers, groupID: group, properties: properties, logger: logger)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: max(1, duration.milliseconds))
    }
}

/// The inspectors `LiveKafkaAccess` made, by group id, shared by the threads it is called on.
private final class InspectorCache: Sendable {
    private let inspectors = NIOLockedValueBox<[String: KafkaInspector]>([:])

    func inspector(group: String, make: () throws -> KafkaInspector) throws -> KafkaInspector {
        try inspectors.withLockedValue { inspectors in
            if let inspector = inspectors[group] { return inspector }
            let inspector = try make()
            inspectors[group] = inspector
            return inspector
        }
    }
}

/// `offsets show`'s lookup with every call bounded by the time the run has left.
private struct BoundedLookup: OffsetLookup {
    let inspector: KafkaInspector
    let timeoutMs: Int32

    func topicNames() throws -> [String] { try inspector.topics(timeoutMs: timeoutMs) }
    func partitions(of topic: String) throws -> [TopicPartition] { try inspector.partitions(of: topic, timeoutMs: timeoutMs) }
    func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64) { try inspector.watermarks(partition, timeoutMs: timeoutMs) }
    func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?] { try inspector.committed(partitions, timeoutMs: timeoutMs) }
    func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        try inspector.offsetsForTimes(times, timeoutMs: timeoutMs)
    }
}
