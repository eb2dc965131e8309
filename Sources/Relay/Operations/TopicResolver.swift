import Foundation
import Kafka

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
