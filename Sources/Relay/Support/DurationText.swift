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
}
