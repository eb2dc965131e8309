import Foundation

/// Times on the command line: ISO 8601 (`2026-11-28T06:00:00Z`) or a duration back from now (`6h`).
public enum TimeArgument {
    public static func parse(_ text: String, option: String, nowMs: Int64) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        if let duration = DurationText.parse(text), text.rangeOfCharacter(from: .letters) != nil {
            return nowMs - duration.milliseconds
        }
        throw OffsetArgumentError("\(option): expected an ISO 8601 time such as 2026-11-28T06:00:00Z or a duration back from now such as 6h or 2d, found \"\(text)\"")
    }

    public static func format(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
