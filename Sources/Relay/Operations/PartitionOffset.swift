import Foundation
import Kafka

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
