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

/// Plain-text tables for the offset commands.
public enum OffsetTables {
    public static func render(_ offsets: GroupOffsets, group: String) -> String {
        var lines = [["TOPIC", "PARTITION", "COMMITTED", "LOG-START", "END", "LAG"]]
        for row in offsets.rows {
            lines.append([row.partition.topic, String(row.partition.partition), row.committed.map(String.init) ?? "-",
                          String(row.low), String(row.high), String(row.lag)])
        }
        let committed = offsets.rows.filter { $0.committed != nil }.count
        return "group \(group)\n" + table(lines)
            + "total lag \(offsets.totalLag) over \(offsets.rows.count) partitions (\(committed) with a committed offset)\n"
    }

    public static func render(_ plan: OffsetResetPlan, group: String) -> String {
        var lines = [["TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET", "CHANGE"]]
        for row in plan.rows {
            let change = row.current.map { row.new - $0 }.map { $0 > 0 ? "+\($0)" : String($0) } ?? "(none committed)"
            lines.append([row.partition.topic, String(row.partition.partition), row.current.map(String.init) ?? "-", String(row.new), change])
        }
        return "group \(group)\n" + table(lines)
    }

    public static func render(_ plan: ReplayPlan) -> String {
        var lines = [["TOPIC", "PARTITION", "FROM", "UNTIL", "RECORDS"]]
        for range in plan.ranges {
            lines.append([range.partition.topic, String(range.partition.partition), String(range.start), String(range.end), String(range.count)])
        }
        return table(lines) + "total \(plan.total) records\n"
    }

    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
