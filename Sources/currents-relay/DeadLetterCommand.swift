import ArgumentParser
import Foundation
import Kafka
import Logging
import Relay

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect the dead-letter topic, or send its messages again.",
        subcommands: [Inspect.self, Redrive.self])

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts by reason, feed and age of the dead-letter topic's records; --show N prints N of them with their headers.")

        @Option(name: .long, help: "The YAML configuration file.")
        var config: String

        @Option(name: .long, help: "Print this many records (in the order they are stored, partition by partition) with their headers.")
        var show: Int = 0

        @Option(name: .long, help: "Only records parked for this reason (expired, poison, rejected).")
        var reason: String?

        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            guard show >= 0 else { throw ValidationError("--show: expected a number of records, 0 or more") }
            if let reason, DeadLetterReason(rawValue: reason) == nil {
                throw ValidationError("--reason: expected one of \(DeadLetterReason.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(reason)\"")
            }
        }

        func run() async throws {
            let logger = logging.bootstrap()
            let configuration = try await loadConfiguration(config, logger: logger)
            let topic = configuration.deadLetter.topic
            let inspector = try KafkaInspector(bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
                                               properties: configuration.kafka.properties, logger: logger)
            var ranges: [TopicPartition: (Int64, Int64)] = [:]
            for partition in try inspector.partitions(of: topic) {
                let (low, high) = try inspector.watermarks(partition)
                if high > low { ranges[partition] = (low, high) }
            }
            var summary = DeadLetterSummary()
            var shown: [String] = []
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            if !ranges.isEmpty {
                try await DeadLetterReader.read(ranges, configuration: configuration, logger: logger) { message in
                    if let reason, message.header(DeadLetterHeaders.reasonHeader)?.stringValue != reason { return }
                    summary.add(message, nowMs: now)
                    if shown.count < show { shown.append(DeadLetterSummary.describe(message)) }
                }
            }
            print(summary.render(topic: topic), terminator: "")
            for record in shown { print(record) }
        }
    }

    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send parked messages again through the normal delivery path, with the current credentials.",
            discussion: """
            Reads the dead-letter topic up to its end at start, as its own consumer group (default \
            <kafka.group_id>.redrive, plus the filter), so an interrupted redrive resumes where it stopped. Events \
            older than 30 days go to /v2/bulkevents/historical. A message that fails again is parked again, with its \
            earlier parkings in the currents.relay.history header.
            """)

        @Option(name: .long, help: "The YAML configuration file.")
        var config: String

        @Option(name: .long, help: "Only messages parked for this reason (expired, poison, rejected).")
        var reason: String?

        @Option(name: .long, help: "Only messages parked at or after this ISO 8601 time, or this long ago (e.g. 6h).")
        var since: String?

        @Option(name: .long, help: "The consumer group that keeps the redrive's position.")
        var group: String?

        @Flag(name: .long, help: "Read, map and count without sending or writing anything.")
        var dryRun = false

        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if let reason, DeadLetterReason(rawValue: reason) == nil {
                throw ValidationError("--reason: expected one of \(DeadLetterReason.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(reason)\"")
            }
        }

        func run() async throws {
            let logger = logging.bootstrap()
            let configuration = try await loadConfiguration(config, logger: logger)
            let sinceMs: Int64?
            do {
                sinceMs = try since.map { try TimeArgument.parse($0, option: "--since", nowMs: Int64(Date().timeIntervalSince1970 * 1000)) }
            } catch let error as OffsetArgumentError {
                throw ValidationError(error.description)
            }
            let group = self.group ?? DeadLetterRedrive.defaultGroup(base: configuration.kafka.groupID, reason: reason, since: since)
            let plan = try DeadLetterRedrive.plan(configuration: configuration, group: group, logger: logger)
            print("redrive of \(configuration.deadLetter.topic) as group \(group)\(dryRun ? " (dry run)" : ""):")
            print(OffsetTables.render(plan), terminator: "")
            guard plan.total > 0 else {
                print("nothing to redrive")
                return
            }
            let runner = try DeadLetterRedrive.runner(plan: plan, configuration: configuration, group: group, reason: reason.flatMap(DeadLetterReason.init),
                                                      sinceMs: sinceMs, dryRun: dryRun, logger: logger,
                                                      api: dryRun ? DryRunAPI() : nil, deadLetters: dryRun ? DryRunDeadLetters() : nil)
            guard try await BoundedRun.run(runner, label: dryRun ? "redrive (dry run)" : "redrive", dryRun: dryRun, logger: logger) else {
                throw ExitCode.failure
            }
        }
    }
}
