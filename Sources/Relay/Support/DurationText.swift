import Foundation

/// Durations as people read and write them: in log lines and dead-letter reasons ("3.5 h"), and
/// in configuration values and command-line arguments ("48h", "250ms").
///
/// Shared by the transform, the pipeline, the configuration and the operations commands, so it
/// lives here rather than in any one of them (arrows point one way: nothing below the pipeline
/// calls into it).
public enum DurationText {
    /// An age for a log line or a dead-letter reason: hours with one decimal from one hour on,
    /// whole seconds below.
    ///
    /// - Parameter milliseconds: The age in milliseconds.
    public static func age(_ milliseconds: Int64) -> String {
        let hours = Double(milliseconds) / 3_600_000
        return hours >= 1 ? String(format: "%.1f h", hours) : "\(milliseconds / 1000) s"
    }

    /// A duration as configuration values and command-line arguments write it: `250ms`, `30s`,
    /// `15m`, `48h`, `2d`, or a bare number of seconds.
    ///
    /// - Returns: nil for anything else, negative values included.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            if let value = Double(number), value.isFinite, value >= 0 {
                return .milliseconds(Int64(value * seconds * 1000))
            }
            if suffix == "s" { break }
        }
        if let value = Double(trimmed), value.isFinite, value >= 0 { return .milliseconds(Int64(value * 1000)) }
        return nil
    }
}
