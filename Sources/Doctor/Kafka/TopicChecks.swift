/// The source topics' lines: each `kafka.topics` entry exists (a regular expression lists what it
/// matches), with its partition count.
enum TopicChecks {
    /// - Parameters:
    ///   - subscriptions: What each entry names in the cluster.
    ///   - partitions: The partition count of each existing topic (missing: it could not be read).
    static func evaluate(_ subscriptions: [TopicSubscription], partitions: [String: Int]) -> [DoctorCheck] {
        subscriptions.map { subscription in
            if subscription.isRegex {
                let name = "kafka topics \(subscription.pattern)"
                guard !subscription.matches.isEmpty else {
                    return .failed(name, "matches no topic in the cluster: the relay would consume nothing",
                                   fix: "correct the regular expression in kafka.topics, or create the topics it is meant to match")
                }
                let listed = subscription.matches.map { "\($0) (\(partitionText(partitions[$0])))" }.joined(separator: ", ")
                return .passed(name, "matches \(listed)")
            }
            let name = "kafka topic \(subscription.pattern)"
            guard !subscription.matches.isEmpty else {
                return .failed(name, "does not exist in the cluster: the relay would consume nothing from it",
                               fix: "create it (kafka-topics.sh --create --topic \(subscription.pattern) --partitions N), or correct kafka.topics (CURRENTS_RELAY_KAFKA_TOPICS)")
            }
            return .passed(name, partitionText(partitions[subscription.pattern]))
        }
    }

    /// `6 partitions`, `1 partition`, or that the count could not be read.
    static func partitionText(_ count: Int?) -> String {
        guard let count else { return "partition count unknown" }
        return "\(count) partition\(count == 1 ? "" : "s")"
    }
}
