import Kafka

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
