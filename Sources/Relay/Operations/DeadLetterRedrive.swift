import Foundation
import Kafka
import Logging
import MParticle
import NIOConcurrencyHelpers

/// `dlq redrive`: the dead-letter topic read, as a group of its own, from that group's committed
/// offsets to the end captured at start, and sent through the normal pipeline.
public enum DeadLetterRedrive {
    /// `<kafka.group_id>.redrive`, plus the filter: a filtered redrive commits past the records it
    /// leaves out, so each filter keeps its own position and never hides records from another.
    public static func defaultGroup(base: String, reason: String?, since: String?) -> String {
        var name = "\(base).redrive"
        if let reason { name += ".\(reason)" }
        if let since { name += ".since-" + since.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined() }
        return name
    }

    /// Per partition of the dead-letter topic: from the group's committed offset (else the log
    /// start) to the end offset now.
    public static func plan(configuration: RelayConfiguration, group: String, logger: Logger) throws -> ReplayPlan {
        let inspector = try KafkaInspector(bootstrapServers: configuration.kafka.bootstrapServers, groupID: group,
                                           properties: configuration.kafka.properties, logger: logger)
        let partitions = try inspector.partitions(of: configuration.deadLetter.topic)
        let committed = try inspector.committed(partitions)
        var ranges: [ReplayPlan.Range] = []
        for partition in partitions {
            let (low, high) = try inspector.watermarks(partition)
            let start = min(max((committed[partition] ?? nil) ?? low, low), high)
            ranges.append(ReplayPlan.Range(partition: partition, start: start, end: high))
        }
        return ReplayPlan(ranges: ranges, notes: [])
    }

    /// A bounded runner over the plan. Without `dryRun` the group's offsets are committed as
    /// records settle, so an interrupted redrive resumes.
    public static func runner(plan: ReplayPlan, configuration: RelayConfiguration, group: String, reason: DeadLetterReason?,
                              sinceMs: Int64?, dryRun: Bool, logger: Logger, api: (any EventsAPI)? = nil,
                              deadLetters: (any DeadLetterSink)? = nil) throws -> RelayRunner {
        let ranges = plan.ranges.filter { $0.count > 0 }
        var settings = RelayPipeline.Settings(configuration)
        settings.ageFromFirstRead = true
        settings.redrive = true
        if reason != nil || sinceMs != nil {
            settings.recordFilter = { message in
                if let reason, message.header(DeadLetterHeaders.reasonHeader)?.stringValue != reason.rawValue { return false }
                if let sinceMs {
                    let parked = Int64(message.header(DeadLetterHeaders.parkedHeader)?.stringValue ?? "") ?? message.timestampMs ?? 0
                    if parked < sinceMs { return false }
                }
                return true
            }
        }
        return try RelayRunner(
            configuration: configuration, logger: logger, api: api, deadLetters: deadLetters,
            source: .init(assignment: Dictionary(uniqueKeysWithValues: ranges.map { ($0.partition, $0.start) }),
                          groupID: group, commitsOffsets: !dryRun,
                          endOffsets: Dictionary(uniqueKeysWithValues: ranges.map { ($0.partition, $0.end) })),
            settings: settings)
    }
}
