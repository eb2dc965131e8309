/// The one-line progress of a bounded run (replay, redrive): a bar on a terminal, a log line
/// otherwise.
public enum ProgressLine {
    public static func render(label: String, settled: Int64, total: Int64, events: Int, elapsedSeconds: Double, bar: Bool) -> String {
        let fraction = total > 0 ? min(1, Double(settled) / Double(total)) : 1
        let rate = elapsedSeconds > 0 ? Double(settled) / elapsedSeconds : 0
        let remaining = rate > 0 ? Double(total - settled) / rate : nil
        let eta = remaining.map { Self.duration($0) } ?? "?"
        let percent = String(format: "%5.1f%%", fraction * 100)
        let counts = "\(settled)/\(total) records, \(events) events sent, \(Int(rate)) records/s, ETA \(eta)"
        guard bar else { return "\(label): \(percent) \(counts)" }
        let width = 30
        let filled = Int(fraction * Double(width))
        return "\(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(percent) \(counts)"
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole >= 3600 { return "\(whole / 3600)h\(String(format: "%02d", whole % 3600 / 60))m" }
        if whole >= 60 { return "\(whole / 60)m\(String(format: "%02d", whole % 60))s" }
        return "\(whole)s"
    }
}
