import Crdkafka
import Logging

/// Reads topic metadata, end offsets and a group's committed offsets without joining the group,
/// so tests and the `offsets` command can observe a running consumer group from the outside.
public final class KafkaInspector: @unchecked Sendable {
    // @unchecked: only thread-safe librdkafka calls are made on `handle`.

    /// Internal, not private: `KafkaInspector+TopicConfiguration.swift` asks the same client.
    let handle: OpaquePointer
    private let context: CallbackContext
    private let bootstrapServers: String

    public init(bootstrapServers: String, groupID: String, properties: [String: String] = [:],
                logger: Logger = Logger(label: "currents-relay.kafka-inspector")) throws {
        let context = CallbackContext(logger: logger)
        self.context = context
        self.bootstrapServers = bootstrapServers
        var settings: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers), ("group.id", groupID),
            ("client.id", "currents-relay-inspector"), ("enable.auto.commit", "false"),
        ]
        settings += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let conf = try makeConf(settings)
        installCommonCallbacks(conf: conf, context: context)
        handle = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
    }

    deinit {
        rd_kafka_consumer_close(handle)
        destroyClient(handle)
    }

    /// Metadata is every command's first request: when it fails because no broker answered, the
    /// error says which bootstrap list was tried ("Broker transport failure" alone did not).
    private func unreachable(_ result: rd_kafka_resp_err_t) -> String {
        let unreachable = [RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT]
        return unreachable.contains(result) ? "cannot reach the Kafka brokers at \(bootstrapServers): " : ""
    }

    /// The partitions of a topic, from cluster metadata.
    public func partitions(of topic: String, timeoutMs: Int32 = 10_000) throws -> [TopicPartition] {
        guard let rkt = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(kind: .client, message: "cannot open topic \(topic)")
        }
        defer { rd_kafka_topic_destroy(rkt) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(handle, 0, rkt, &metadata, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(kind: .client, responseError: result, context: unreachable(result) + "metadata for \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt > 0 else { return [] }
        let topicMetadata = metadata.pointee.topics[0]
        if topicMetadata.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(kind: .client, responseError: topicMetadata.err, context: "metadata for \(topic)")
        }
        return (0..<Int(topicMetadata.partition_cnt))
            .map { TopicPartition(topic, topicMetadata.partitions[$0].id) }
            .sorted()
    }

    /// Low and high watermarks (the high one is the next offset to be written).
    public func watermarks(_ topicPartition: TopicPartition, timeoutMs: Int32 = 10_000) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let result = rd_kafka_query_watermark_offsets(handle, topicPartition.topic, topicPartition.partition, &low, &high, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: result, context: "watermarks of \(topicPartition)")
        }
        return (low, high)
    }

    /// The group's committed offsets; `nil` for a partition with none.
    public func committed(_ partitions: [TopicPartition], timeoutMs: Int32 = 10_000) throws -> [TopicPartition: Int64?] {
        let list = makePartitionList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_committed(handle, list, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: result, context: "committed offsets")
        }
        var answer: [TopicPartition: Int64?] = [:]
        for (topicPartition, offset, _) in topicPartitions(list) {
            answer[topicPartition] = offset >= 0 ? offset : nil
        }
        return answer
    }

    /// Every topic in the cluster (for `^regex` subscriptions), sorted.
    public func topics(timeoutMs: Int32 = 10_000) throws -> [String] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(kind: .client, responseError: result, context: unreachable(result) + "cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return (0..<Int(metadata.pointee.topic_cnt)).map { String(cString: metadata.pointee.topics[$0].topic) }.sorted()
    }

    /// For each partition, the first offset whose record timestamp is at or after the given time
    /// (milliseconds since the epoch); the end offset when there is none. Uses
    /// `rd_kafka_offsets_for_times` (ListOffsets by timestamp); the embedded broker does not
    /// implement that lookup and answers the end offset.
    public func offsetsForTimes(_ times: [TopicPartition: Int64], timeoutMs: Int32 = 10_000) throws -> [TopicPartition: Int64] {
        guard !times.isEmpty else { return [:] }
        let list = makePartitionList(times.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_offsets_for_times(handle, list, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: result, context: "offsets for times")
        }
        var answer: [TopicPartition: Int64] = [:]
        for (topicPartition, offset, error) in topicPartitions(list) {
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(kind: .client, responseError: error, context: "offset for time in \(topicPartition)")
            }
            answer[topicPartition] = offset
        }
        return answer
    }

    /// Commits offsets for the group as a client outside it (a "simple" commit). A broker refuses
    /// this while the group has active members (`UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`,
    /// `REBALANCE_IN_PROGRESS`).
    public func commit(_ offsets: [TopicPartition: Int64], timeoutMs: Int32 = 10_000) throws {
        try commitOffsets(handle, offsets)
    }

    /// The group as the coordinator describes it (DescribeGroups). Throws where the broker does not
    /// answer that request (the embedded broker).
    public func describeGroup(_ group: String, timeoutMs: Int32 = 10_000) throws -> KafkaGroupDescription {
        var list: UnsafePointer<rd_kafka_group_list>?
        let result = rd_kafka_list_groups(handle, group, &list, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw KafkaError(kind: .client, responseError: result, context: "describe group \(group)")
        }
        defer { rd_kafka_group_list_destroy(list) }
        for index in 0..<Int(list.pointee.group_cnt) {
            let info = list.pointee.groups[index]
            guard String(cString: info.group) == group else { continue }
            if info.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(kind: .client, responseError: info.err, context: "describe group \(group)")
            }
            return KafkaGroupDescription(state: info.state.map { String(cString: $0) } ?? "", members: Int(info.member_cnt))
        }
        return KafkaGroupDescription(state: "Dead", members: 0)
    }
}

/// A consumer group's state and member count, as the group coordinator reports them.
public struct KafkaGroupDescription: Sendable, Equatable {
    /// `Empty`, `Stable`, `PreparingRebalance`, `CompletingRebalance` or `Dead`.
    public var state: String
    public var members: Int

    public init(state: String, members: Int) {
        self.state = state
        self.members = members
    }

    public var isActive: Bool { members > 0 || ["Stable", "PreparingRebalance", "CompletingRebalance"].contains(state) }
}
