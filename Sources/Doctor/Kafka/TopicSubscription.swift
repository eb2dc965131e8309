import Foundation

/// One entry of `kafka.topics` and the topics of the cluster it names: a plain name names itself
/// when it exists; a `^regex` names every topic it matches (as the consumer's subscription does).
public struct TopicSubscription: Sendable, Equatable {
    /// The entry as configured.
    public var pattern: String
    /// The existing topics it names, sorted.
    public var matches: [String]

    public init(pattern: String, matches: [String]) {
        self.pattern = pattern
        self.matches = matches
    }

    public var isRegex: Bool { pattern.hasPrefix("^") }

    /// What each entry names among `existing`, in the configuration's order. (The loader has
    /// already refused an expression that does not compile.)
    public static func resolve(_ patterns: [String], existing: [String]) -> [TopicSubscription] {
        let available = Set(existing)
        return patterns.map { pattern in
            guard pattern.hasPrefix("^") else {
                return TopicSubscription(pattern: pattern, matches: available.contains(pattern) ? [pattern] : [])
            }
            guard let regex = try? NSRegularExpression(pattern: pattern) else { return TopicSubscription(pattern: pattern, matches: []) }
            let matches = existing.filter { regex.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
            return TopicSubscription(pattern: pattern, matches: matches.sorted())
        }
    }

    /// Every topic the subscriptions name, once each, sorted.
    public static func topics(_ subscriptions: [TopicSubscription]) -> [String] {
        Array(Set(subscriptions.flatMap(\.matches))).sorted()
    }
}
