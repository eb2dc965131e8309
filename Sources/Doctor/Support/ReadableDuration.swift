import Foundation
import Relay

/// Durations as the report writes them: retention in the largest whole unit that fits ("7 d",
/// "36 h", "90 min"), round trips in milliseconds, the run in seconds with one decimal.
enum ReadableDuration {
    /// A retention or an age limit, in milliseconds, in days from 3 days on (`7 d`), else hours
    /// (`48 h`, as `dead_letter.max_age` is usually written), minutes, seconds or milliseconds;
    /// one decimal when it is not whole (`1.5 h`).
    static func span(milliseconds: Int64) -> String {
        let units: [(Int64, Int64, String)] = [(3 * 86_400_000, 86_400_000, "d"), (3_600_000, 3_600_000, "h"), (60_000, 60_000, "min"), (1000, 1000, "s")]
        for (from, size, name) in units where milliseconds >= from {
            let value = Double(milliseconds) / Double(size)
            return value == value.rounded() ? "\(Int64(value)) \(name)" : String(format: "%.1f", value) + " \(name)"
        }
        return "\(milliseconds) ms"
    }

    static func span(_ duration: Duration) -> String { span(milliseconds: duration.milliseconds) }

    /// A round trip: `34 ms`.
    static func milliseconds(_ duration: Duration) -> String { "\(duration.milliseconds) ms" }

    /// The whole run: `0.4 s`.
    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", Double(duration.milliseconds) / 1000)
    }
}
