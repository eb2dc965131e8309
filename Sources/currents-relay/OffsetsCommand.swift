import ArgumentParser
import Foundation
import Kafka
import Logging
import Relay

struct Offsets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or move the consumer group's committed offsets.",
        subcommands: [Show.self, Reset.self])

    /// Options both verbs take.
    struct Common: ParsableArguments {
        @Option(name: .long, help: "The YAML configuration file.")
        var config: String

        @Option(name: .long, help: "The consumer group (default: kafka.group_id).")
        var group: String?

        @Option(name: .long, help: "Only these partitions (e.g. 0,3,5).")
        var partitions: String?

        @OptionGroup var logging: LoggingOptions

        func load() async throws -> (RelayConfiguration, String, KafkaInspector, [String], Set<Int32>?, Logger) {
            let logger = logging.bootstrap()
            let configuration = try await loadConfiguration(config, logger: logger)
            let group = self.group ?? configuration.kafka.groupID
            let only: Set<Int32>?
            do { only = try partitions.map(Replay.parsePartitions) } catch let error as OffsetArgumentError { throw ValidationError(error.description) }
            let inspector = try KafkaInspector(bootstrapServers: configuration.kafka.bootstrapServers, groupID: group,
                                               properties: configuration.kafka.properties, logger: logger)
            let topics = try TopicResolver.resolve(configuration.kafka.topics, lookup: inspector)
            return (configuration, group, inspector, topics, only, logger)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per partition: committed offset, log start, end offset and lag; totals.")

        @OptionGroup var common: Common

        func run() async throws {
            let (_, group, inspector, topics, only, _) = try await common.load()
            do {
                print(OffsetTables.render(try GroupOffsets.read(topics: topics, only: only, lookup: inspector), group: group), terminator: "")
            } catch let error as OffsetArgumentError {
                throw ValidationError(error.description)
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a stopped group's committed offsets (prints the plan; --execute commits it).",
            discussion: """
            Like kafka-consumer-groups --reset-offsets: new offsets are kept within the log, and the reset is refused \
            while the group has active members. --to-time uses offsets by timestamp, which the embedded broker does \
            not implement (it answers the end offset).
            """)

        @OptionGroup var common: Common

        @Flag(name: .long, help: "To the oldest offset still in the log.")
        var toEarliest = false

        @Flag(name: .long, help: "To the end (skip everything not yet delivered).")
        var toLatest = false

        @Option(name: .long, help: "To the first record at or after this ISO 8601 time (or a duration back, e.g. 6h).")
        var toTime: String?

        @Option(name: .long, parsing: .unconditional, help: "Move the committed offsets by N records (negative: back).")
        var shiftBy: Int64?

        @Flag(name: .long, help: "Commit the new offsets (without it, only the plan is printed).")
        var execute = false

        func validate() throws {
            let targets = [toEarliest, toLatest, toTime != nil, shiftBy != nil].filter { $0 }.count
            guard targets == 1 else { throw ValidationError("give exactly one of --to-earliest, --to-latest, --to-time or --shift-by") }
        }

        func run() async throws {
            let (configuration, group, inspector, topics, only, logger) = try await common.load()
            let target: OffsetResetPlan.Target
            if toEarliest {
                target = .earliest
            } else if toLatest {
                target = .latest
            } else if let toTime {
                do {
                    target = .time(try TimeArgument.parse(toTime, option: "--to-time", nowMs: Int64(Date().timeIntervalSince1970 * 1000)))
                } catch let error as OffsetArgumentError {
                    throw ValidationError(error.description)
                }
            } else {
                target = .shift(shiftBy!)
            }
            let plan: OffsetResetPlan
            do {
                plan = try OffsetResetPlan.make(topics: topics, only: only, target: target, lookup: inspector)
            } catch let error as OffsetArgumentError {
                throw ValidationError(error.description)
            }
            print(OffsetTables.render(plan, group: group), terminator: "")
            guard execute else {
                print("dry run: nothing changed; add --execute to commit these offsets")
                return
            }
            switch try await OffsetResetExecutor.execute(plan, configuration: configuration, groupID: group, topics: topics, logger: logger) {
            case .committed:
                print("committed the new offsets for group \(group)")
            case .refused(let why):
                printError("refused: \(why)")
                throw ExitCode.failure
            }
        }
    }
}
