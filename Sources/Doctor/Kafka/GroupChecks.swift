import Relay

/// The consumer group's lines, one per source topic: its committed offsets and lag, as `offsets
/// show` reads them, so the first run's starting point is no surprise.
enum GroupChecks {
    /// - Parameters:
    ///   - group: `kafka.group_id`.
    ///   - topic: One existing source topic.
    ///   - offsets: Its rows, or why they could not be read.
    ///   - autoOffsetReset: Where a partition without a committed offset starts (`earliest`
    ///     unless `kafka.properties` says otherwise).
    static func evaluate(group: String, topic: String, offsets: Result<GroupOffsets, any Error>, autoOffsetReset: String) -> DoctorCheck {
        let name = "kafka group \(group) on \(topic)"
        let rows: [GroupOffsets.Row]
        switch offsets {
        case .failure(let error):
            return .failed(name, "cannot read the group's committed offsets: \(error)",
                           fix: "grant the principal Describe and Read on the group \(group) and the topic \(topic) (ACLs), or check kafka.group_id")
        case .success(let offsets):
            rows = offsets.rows
        }
        let committed = rows.count { $0.committed != nil }
        let lag = rows.reduce(Int64(0)) { $0 + $1.lag }
        let start = autoOffsetReset == "latest" ? "the end of the log" : "the \(autoOffsetReset) record"
        if committed == 0 {
            // `lag` counts from the log start: what a first run reads, unless it starts at the end.
            let records = "\(lag) record\(lag == 1 ? "" : "s")"
            let reach = autoOffsetReset == "latest" ? "past the \(records) there" : "\(records) behind"
            return .passed(name, "no committed offsets yet: a first run starts at \(start) (auto.offset.reset), \(reach)")
        }
        let partial = committed < rows.count ? " (the others start at \(start))" : ""
        return .passed(name, "committed on \(committed) of \(rows.count) partitions\(partial); lag \(lag) record\(lag == 1 ? "" : "s")")
    }
}
