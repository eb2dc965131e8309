import Foundation
import Relay

/// How long a topic keeps its records, as its `retention.ms` says; compared with
/// `dead_letter.max_age` because parked records are read again from the source topic, and the
/// dead-letter topic must keep them until someone redrives them.
public enum TopicRetention: Sendable, Equatable {
    case milliseconds(Int64)
    /// `retention.ms: -1`: kept until deleted by size or by hand.
    case unlimited
    /// The brokers could not say: why (the embedded broker does not implement DescribeConfigs;
    /// the principal may not describe the topic's configuration).
    case unknown(String)

    /// Reads a topic's configuration as DescribeConfigs reports it.
    public init(configuration: [String: String]) {
        guard let text = configuration["retention.ms"], let value = Int64(text.trimmingCharacters(in: .whitespaces)) else {
            self = .unknown("the brokers reported no retention.ms")
            return
        }
        self = value < 0 ? .unlimited : .milliseconds(value)
    }

    /// True when the topic keeps records for less than `duration`.
    func isShorter(than duration: Duration) -> Bool {
        guard case .milliseconds(let value) = self else { return false }
        return value < duration.milliseconds
    }

    /// `7 d`, `unlimited`, `unknown`.
    var text: String {
        switch self {
        case .milliseconds(let value): ReadableDuration.span(milliseconds: value)
        case .unlimited: "unlimited"
        case .unknown: "unknown"
        }
    }
}
