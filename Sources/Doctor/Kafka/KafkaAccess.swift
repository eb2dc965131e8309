import Kafka
import Relay

/// What the Kafka checks ask the cluster: the only I/O they do, behind a protocol so tests drive
/// every failure (a refused broker, a topic missing, offsets that cannot be read) without one.
///
/// Each call blocks (librdkafka's API does) for at most the time it is given; `doctor` runs them
/// on threads of their own (`BlockingWork`).
public protocol KafkaAccess: Sendable {
    /// Asks one address alone, with the configured security settings, for the cluster's brokers
    /// (`KafkaBrokerProbe`): the failure carries librdkafka's reason.
    func brokers(at address: String, timeout: Duration) -> Result<[KafkaBroker], KafkaError>

    /// Every topic in the cluster. Never creates one (a topic named in a metadata request may be
    /// auto-created by the broker; this asks for all of them instead).
    func topicNames(timeout: Duration) throws -> [String]

    /// The number of partitions of a topic that exists.
    func partitionCount(of topic: String, timeout: Duration) throws -> Int

    /// The group's committed offsets and the log's watermarks for every partition of the topics:
    /// what `offsets show` prints.
    func groupOffsets(group: String, topics: [String], timeout: Duration) throws -> GroupOffsets

    /// How long the brokers keep a topic's records (DescribeConfigs' `retention.ms`); unknown, with
    /// the reason, where the brokers cannot say.
    func retention(of topic: String, timeout: Duration) -> TopicRetention
}
