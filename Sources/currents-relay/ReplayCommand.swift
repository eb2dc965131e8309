import ArgumentParser
import Foundation
import Kafka
import Logging
import Relay

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a range of the source topics again, with an assignment of its own (the group's offsets are not touched).",
        discussion: """
        The range starts at --from-offset (P:O or TOPIC:P:O, comma-separated; only those partitions), --from-time \
        (ISO 8601) or --since (a duration back from now), and ends at --until-time, --until-offset or the end offsets \
        captured at start. Records go through the same mapping, feeds, retries and dead-letter rules as `run`; their \
        age counts from when the replay read them, and events older than 30 days go to /v2/bulkevents/historical. \
        The embedded broker does not implement offsets by timestamp: there, --from-time/--since start at the end.
        """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Start offsets: PARTITION:OFFSET[,...] or TOPIC:PARTITION:OFFSET[,...].")
    var fromOffset: String?

    @Option(name: .long, help: "Start at the first record at or after this ISO 8601 time.")
    var fromTime: String?

    @Option(name: .long, help: "Start this long ago (e.g. 6h, 2d).")
    var since: String?

    @Option(name: .long, help: "Stop before the first record at or after this ISO 8601 time.")
    var untilTime: String?

    @Option(name: .long, help: "Stop before these offsets: PARTITION:OFFSET[,...].")
    var untilOffset: String?

    @Option(name: .long, help: "Only these partitions (e.g. 0,3,5).")
    var partitions: String?

    @Flag(name: .long, help: "Read, map and count without sending or writing anything.")
    var dryRun = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        let starts = [fromOffset, fromTime, since].compactMap { $0 }.count
        guard starts == 1 else { throw ValidationError("give exactly one of --from-offset, --from-time or --since") }
        guard untilTime == nil || untilOffset == nil else { throw ValidationError("give at most one of --until-time or --until-offset") }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        let configuration = try await loadConfiguration(config, logger: logger)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start: ReplayPlan.Start
        let end: ReplayPlan.End
        let only: Set<Int32>?
        do {
            if let fromOffset {
                start = .offsets(try PartitionOffset.parseList(fromOffset, option: "--from-offset"))
            } else if let fromTime {
                start = .time(try TimeArgument.parse(fromTime, option: "--from-time", nowMs: now))
            } else {
                start = .time(try TimeArgument.parse(since!, option: "--since", nowMs: now))
            }
            if let untilTime {
                end = .time(try TimeArgument.parse(untilTime, option: "--until-time", nowMs: now))
            } else if let untilOffset {
                end = .offsets(try PartitionOffset.parseList(untilOffset, option: "--until-offset"))
            } else {
                end = .latest
            }
            only = try partitions.map(Self.parsePartitions)
        } catch let error as OffsetArgumentError {
            throw ValidationError(error.description)
        }
        let lookup = try KafkaInspector(bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
                                        properties: configuration.kafka.properties, logger: logger)
        let plan: ReplayPlan
        do {
            let topics = try TopicResolver.resolve(configuration.kafka.topics, lookup: lookup)
            plan = try ReplayPlan.make(topics: topics, start: start, end: end, only: only, lookup: lookup)
        } catch let error as OffsetArgumentError {
            throw ValidationError(error.description)
        }
        print("replay plan\(dryRun ? " (dry run)" : ""):")
        print(OffsetTables.render(plan), terminator: "")
        for note in plan.notes { print("note: \(note)") }
        guard plan.total > 0 else {
            print("nothing to replay")
            return
        }
        let runner = try ReplayJob.runner(plan: plan, configuration: configuration, logger: logger,
                                          api: dryRun ? DryRunAPI() : nil, deadLetters: dryRun ? DryRunDeadLetters() : nil)
        guard try await BoundedRun.run(runner, label: dryRun ? "replay (dry run)" : "replay", dryRun: dryRun, logger: logger) else {
            throw ExitCode.failure
        }
    }

    static func parsePartitions(_ text: String) throws -> Set<Int32> {
        var result: Set<Int32> = []
        for item in text.split(separator: ",") {
            guard let number = Int32(item.trimmingCharacters(in: .whitespaces)), number >= 0 else {
                throw OffsetArgumentError("--partitions: expected partition numbers separated by commas (e.g. 0,3,5), found \"\(text)\"")
            }
            result.insert(number)
        }
        return result
    }
}
