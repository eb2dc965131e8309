import Kafka

/// `offsets reset`: where each partition's committed offset moves, like
/// `kafka-consumer-groups --reset-offsets` (new offsets are kept within the log).
public struct OffsetResetPlan: Sendable, Equatable {
    public enum Target: Sendable, Equatable {
        case earliest
        case latest
        /// The first offset at or after this time (ms since the epoch).
        case time(Int64)
        /// The committed offset moved by this many records (negative: back).
        case shift(Int64)
    }

    public struct Row: Sendable, Equatable {
        public var partition: TopicPartition
        public var current: Int64?
        public var new: Int64
        public var low: Int64
        public var high: Int64
    }

    public var rows: [Row]
    public var offsets: [TopicPartition: Int64] { Dictionary(uniqueKeysWithValues: rows.map { ($0.partition, $0.new) }) }

    public static func make(topics: [String], only: Set<Int32>?, target: Target, lookup: any OffsetLookup) throws -> OffsetResetPlan {
        let partitions = try TopicResolver.partitions(of: topics, only: only, lookup: lookup)
        let committed = try lookup.committed(partitions)
        var byTime: [TopicPartition: Int64] = [:]
        if case .time(let milliseconds) = target {
            byTime = try lookup.offsetsForTimes(Dictionary(uniqueKeysWithValues: partitions.map { ($0, milliseconds) }))
        }
        var rows: [Row] = []
        for partition in partitions {
            let (low, high) = try lookup.watermarks(partition)
            let current = committed[partition] ?? nil
            let wanted: Int64
            switch target {
            case .earliest: wanted = low
            case .latest: wanted = high
            case .time: wanted = byTime[partition].flatMap { $0 >= 0 ? $0 : nil } ?? high
            case .shift(let by): wanted = (current ?? low) + by
            }
            rows.append(Row(partition: partition, current: current, new: min(max(wanted, low), high), low: low, high: high))
        }
        return OffsetResetPlan(rows: rows)
    }
}
