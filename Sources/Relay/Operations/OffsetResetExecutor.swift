import Kafka
import Logging

/// Commits an `offsets reset` plan for a group, but only while the group has no active member:
/// moving offsets under a running consumer would be overwritten by its next commit, or worse,
/// skip records it has not delivered.
public enum OffsetResetExecutor {
    public enum Outcome: Sendable, Equatable {
        case committed
        /// The group has active members; nothing was changed.
        case refused(String)
    }

    /// Membership errors a broker gives a commit from outside an active group.
    static let membershipErrors: Set<String> = ["UNKNOWN_MEMBER_ID", "ILLEGAL_GENERATION", "REBALANCE_IN_PROGRESS", "FENCED_INSTANCE_ID"]

    /// Asks the coordinator for the group's state (DescribeGroups) and commits as an outside client
    /// when it is empty. Where the broker does not answer DescribeGroups (the embedded broker),
    /// joins the group for a moment instead: if this process is given every partition, no one else
    /// is a member, and it commits as the group's only member before leaving.
    public static func execute(_ plan: OffsetResetPlan, configuration: RelayConfiguration, groupID: String, topics: [String],
                               logger: Logger) async throws -> Outcome {
        let inspector = try KafkaInspector(bootstrapServers: configuration.kafka.bootstrapServers, groupID: groupID,
                                           properties: configuration.kafka.properties, logger: logger)
        let description: KafkaGroupDescription?
        do {
            description = try inspector.describeGroup(groupID)
        } catch {
            logger.info("the broker did not describe the group; checking membership by joining it briefly", metadata: ["error": "\(error)"])
            description = nil
        }
        if let description {
            if description.isActive {
                return .refused("group \(groupID) has \(description.members) active member(s) (state \(description.state)); stop every relay of this group first")
            }
            do {
                try inspector.commit(plan.offsets)
                return .committed
            } catch let error as KafkaError where membershipErrors.contains(error.codeName) {
                return .refused("group \(groupID) became active (\(error.codeName)); stop every relay of this group first")
            }
        }
        return try await commitAsOnlyMember(plan, configuration: configuration, groupID: groupID, topics: topics, logger: logger)
    }

    static func commitAsOnlyMember(_ plan: OffsetResetPlan, configuration: RelayConfiguration, groupID: String, topics: [String],
                                   logger: Logger) async throws -> Outcome {
        var settings = KafkaConsumerConfiguration(bootstrapServers: configuration.kafka.bootstrapServers, groupID: groupID,
                                                  clientID: "\(configuration.name)-offsets-reset", topics: topics)
        settings.properties = configuration.kafka.properties
        settings.properties["group.instance.id"] = nil
        // A short-lived member: the smallest session timeout brokers accept by default, so the
        // join completes (and a crash of this check is noticed) quickly.
        settings.properties["session.timeout.ms"] = "6000"
        settings.properties["heartbeat.interval.ms"] = "500"
        settings.commitsOffsets = false
        let consumer = try KafkaConsumer(configuration: settings, logger: logger)
        try consumer.start()
        let wanted = Set(plan.rows.map(\.partition))
        let assigned: [TopicPartition]? = await withTaskGroup(of: [TopicPartition]?.self) { group in
            group.addTask {
                for await event in consumer.events {
                    if case .assigned(let partitions) = event { return partitions }
                    if case .messages(let messages) = event { consumer.handled(messages.count) }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        defer { Task { await consumer.close() } }
        guard let assigned else {
            await consumer.close()
            throw KafkaError(kind: .client, message: "joining group \(groupID) to check for other members timed out after 60 s")
        }
        guard wanted.isSubset(of: Set(assigned)) else {
            await consumer.close()
            return .refused("group \(groupID) has another active member (this check was given \(assigned.count) of \(wanted.count) partitions); stop every relay of this group first")
        }
        try consumer.commit(plan.offsets)
        await consumer.close()
        return .committed
    }
}
