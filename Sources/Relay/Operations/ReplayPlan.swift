import Kafka

/// Which records `replay` reads: per partition, a start (inclusive) and an end (exclusive)
/// captured before reading, so the run stops even while new records keep arriving.
public struct ReplayPlan: Sendable, Equatable {
    public enum Start: Sendable, Equatable {
        /// `--from-offset`: only the partitions listed.
        case offsets([PartitionOffset])
        /// `--from-time` / `--since` (ms since the epoch).
        case time(Int64)
    }

    public enum End: Sendable, Equatable {
        /// The end offsets at start.
        case latest
        /// `--until-time`: records before this time (ms since the epoch).
        case time(Int64)
        /// `--until-offset`: records before these offsets.
        case offsets([PartitionOffset])
    }

    public struct Range: Sendable, Equatable {
        public var partition: TopicPartition
        public var start: Int64
        public var end: Int64
        public var count: Int64 { max(0, end - start) }
    }

    public var ranges: [Range]
    /// What was adjusted (an offset before the log start, past the end, ...), to show the user.
    public var notes: [String]

    public var total: Int64 { ranges.reduce(0) { $0 + $1.count } }
    public var starts: [TopicPartition: Int64] { Dictionary(uniqueKeysWithValues: ranges.map { ($0.partition, $0.start) }) }
    public var ends: [TopicPartition: Int64] { Dictionary(uniqueKeysWithValues: ranges.map { ($0.partition, $0.end) }) }

    /// - Parameter only: `--partitions`, or nil for all of the topics' partitions.
    public static func make(topics: [String], start: Start, end: End, only: Set<Int32>?, lookup: any OffsetLookup) throws -> ReplayPlan {
        let all = try TopicResolver.partitions(of: topics, only: only, lookup: lookup)
        var notes: [String] = []
        var starts: [TopicPartition: Int64] = [:]
        switch start {
        case .offsets(let items):
            for item in items {
                let partition = try item.resolve(in: all, option: "--from-offset")
                starts[partition] = item.offset
            }
        case .time(let milliseconds):
            let found = try lookup.offsetsForTimes(Dictionary(uniqueKeysWithValues: all.map { ($0, milliseconds) }))
            for partition in all { starts[partition] = found[partition] ?? KafkaOffset.end }
        }
        var ends: [TopicPartition: Int64] = [:]
        switch end {
        case .latest:
            break
        case .time(let milliseconds):
            ends = try lookup.offsetsForTimes(Dictionary(uniqueKeysWithValues: starts.keys.map { ($0, milliseconds) }))
        case .offsets(let items):
            for item in items {
                let partition = try item.resolve(in: all, option: "--until-offset")
                guard starts[partition] != nil else {
                    throw OffsetArgumentError("--until-offset: partition \(partition) has no start (add it to --from-offset)")
                }
                ends[partition] = item.offset
            }
        }
        var ranges: [Range] = []
        for partition in starts.keys.sorted() {
            let (low, high) = try lookup.watermarks(partition)
            var first = starts[partition]!
            if first < 0 { first = high }  // "no record at or after that time"
            if first < low {
                notes.append("\(partition): offset \(first) is before the log start \(low); starting at \(low)")
                first = low
            }
            if first > high {
                notes.append("\(partition): offset \(first) is past the end \(high); nothing to read")
                first = high
            }
            var last = ends[partition] ?? high
            if last < 0 || last > high { last = high }
            if last < first {
                notes.append("\(partition): the end \(last) is before the start \(first); nothing to read")
                last = first
            }
            ranges.append(Range(partition: partition, start: first, end: last))
        }
        return ReplayPlan(ranges: ranges, notes: notes)
    }
}
