import Kafka

/// The rows of `offsets show`: per partition committed, log start, end and lag.
public struct GroupOffsets: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var partition: TopicPartition
        public var committed: Int64?
        public var low: Int64
        public var high: Int64
        /// Records not yet committed: end minus committed (minus the log start with no commit).
        public var lag: Int64 { max(0, high - max(committed ?? low, low)) }
    }

    public var rows: [Row]
    public var totalLag: Int64 { rows.reduce(0) { $0 + $1.lag } }

    public static func read(topics: [String], only: Set<Int32>?, lookup: any OffsetLookup) throws -> GroupOffsets {
        let partitions = try TopicResolver.partitions(of: topics, only: only, lookup: lookup)
        let committed = try lookup.committed(partitions)
        return GroupOffsets(rows: try partitions.map { partition in
            let (low, high) = try lookup.watermarks(partition)
            return Row(partition: partition, committed: committed[partition] ?? nil, low: low, high: high)
        })
    }
}
