import Foundation
import Kafka

/// What the offset commands ask the cluster: topics, partitions, watermarks, a group's committed
/// offsets and offsets by timestamp. A protocol so the planning logic is tested without a broker
/// (the embedded broker does not implement ListOffsets by timestamp).
public protocol OffsetLookup: Sendable {
    func topicNames() throws -> [String]
    func partitions(of topic: String) throws -> [TopicPartition]
    func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64)
    /// The group's committed offset per partition; nil where it has none.
    func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?]
    /// The first offset at or after each time (ms since the epoch); the end offset where none is.
    func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64]
}

extension KafkaInspector: OffsetLookup {
    public func topicNames() throws -> [String] { try topics() }
    public func partitions(of topic: String) throws -> [TopicPartition] { try partitions(of: topic, timeoutMs: 10_000) }
    public func watermarks(_ partition: TopicPartition) throws -> (low: Int64, high: Int64) { try watermarks(partition, timeoutMs: 10_000) }
    public func committed(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64?] { try committed(partitions, timeoutMs: 10_000) }
    public func offsetsForTimes(_ times: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        try offsetsForTimes(times, timeoutMs: 10_000)
    }
}

/// A command-line mistake in an offset or time argument (exit code 2).
public struct OffsetArgumentError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum TopicResolver {
    /// The topics `kafka.topics` names: plain names as given, `^regex` entries matched against the
    /// cluster's topics.
    public static func resolve(_ patterns: [String], lookup: any OffsetLookup) throws -> [String] {
        guard patterns.contains(where: { $0.hasPrefix("^") }) else { return patterns }
        let available = try lookup.topicNames()
        var result: [String] = []
        for pattern in patterns {
            if pattern.hasPrefix("^") {
                let regex = try NSRegularExpression(pattern: pattern)
                result += available.filter { regex.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
            } else {
                result.append(pattern)
            }
        }
        return Array(Set(result)).sorted()
    }

    /// Every partition of the topics, optionally only the given partition numbers.
    public static func partitions(of topics: [String], only: Set<Int32>?, lookup: any OffsetLookup) throws -> [TopicPartition] {
        var result: [TopicPartition] = []
        for topic in topics { result += try lookup.partitions(of: topic) }
        if let only {
            let missing = only.filter { number in !result.contains { $0.partition == number } }
            if !missing.isEmpty {
                throw OffsetArgumentError("--partitions: no partition \(missing.sorted().map(String.init).joined(separator: ", ")) in \(topics.joined(separator: ", "))")
            }
            result = result.filter { only.contains($0.partition) }
        }
        guard !result.isEmpty else { throw OffsetArgumentError("no partitions found for \(topics.joined(separator: ", ")) (does the topic exist?)") }
        return result.sorted()
    }
}

/// One `P:O` or `topic:P:O` item of `--from-offset` / `--until-offset`.
public struct PartitionOffset: Sendable, Equatable {
    public var topic: String?
    public var partition: Int32
    public var offset: Int64

    public init(topic: String? = nil, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    /// Parses `0:100,1:250` or `braze.currents:0:100` (a topic may itself contain dots, not colons).
    public static func parseList(_ text: String, option: String) throws -> [PartitionOffset] {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw OffsetArgumentError("\(option): expected PARTITION:OFFSET items separated by commas (e.g. 0:100,1:250)")
        }
        return try text.split(separator: ",").map { item in
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || parts.count == 3,
                  let partition = Int32(parts[parts.count - 2]), partition >= 0,
                  let offset = Int64(parts[parts.count - 1]), offset >= 0 else {
                throw OffsetArgumentError("\(option): expected PARTITION:OFFSET or TOPIC:PARTITION:OFFSET items separated by commas (e.g. 0:100,1:250), found \"\(item)\"")
            }
            return PartitionOffset(topic: parts.count == 3 ? parts[0] : nil, partition: partition, offset: offset)
        }
    }

    /// The partitions among `candidates` this item names; an error if none, or if it is ambiguous.
    func resolve(in candidates: [TopicPartition], option: String) throws -> TopicPartition {
        let matches = candidates.filter { $0.partition == partition && (topic == nil || $0.topic == topic) }
        guard let first = matches.first else {
            throw OffsetArgumentError("\(option): partition \(topic.map { "\($0):" } ?? "")\(partition) is not among \(candidates.map(\.description).joined(separator: ", "))")
        }
        guard matches.count == 1 else {
            throw OffsetArgumentError("\(option): partition \(partition) exists in several topics; write TOPIC:\(partition):\(offset)")
        }
        return first
    }
}

/// Times on the command line: ISO 8601 (`2026-11-28T06:00:00Z`) or a duration back from now (`6h`).
public enum TimeArgument {
    public static func parse(_ text: String, option: String, nowMs: Int64) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        if let duration = ConfigLoader.parseDuration(text), text.rangeOfCharacter(from: .letters) != nil {
            return nowMs - duration.milliseconds
        }
        throw OffsetArgumentError("\(option): expected an ISO 8601 time such as 2026-11-28T06:00:00Z or a duration back from now such as 6h or 2d, found \"\(text)\"")
    }

    public static func format(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
