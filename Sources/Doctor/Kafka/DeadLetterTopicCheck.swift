/// The dead-letter topic's line: it exists (the relay creates no topic, and a record that cannot
/// be parked holds its partition's offset), with its partition count, and it is not also a
/// source topic.
enum DeadLetterTopicCheck {
    /// - Parameters:
    ///   - topic: `dead_letter.topic`.
    ///   - exists: Whether the cluster has it.
    ///   - partitions: Its partition count, when read.
    ///   - sources: The topics `kafka.topics` names.
    static func evaluate(topic: String, exists: Bool, partitions: Int?, sources: [String]) -> DoctorCheck {
        let name = "kafka dead-letter topic \(topic)"
        guard exists else {
            return .failed(name, "does not exist: expired, poison and rejected records could not be parked, and each would hold its partition's offset",
                           fix: "create it (kafka-topics.sh --create --topic \(topic)) with a retention longer than dead_letter.max_age, or set dead_letter.topic to the one that exists")
        }
        if sources.contains(topic) {
            return .failed(name, "is also a source topic (kafka.topics): the relay would read back every record it parks and send it again",
                           fix: "leave \(topic) out of kafka.topics (a regular expression such as ^braze\\.currents$ names one topic only)")
        }
        return .passed(name, TopicChecks.partitionText(partitions))
    }
}
