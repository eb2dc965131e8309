import ArgumentParser
import Foundation
import Kafka
import Logging
import UnixSignals

struct DevBroker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run the embedded Kafka broker (librdkafka's mock cluster) as its own process until SIGINT or SIGTERM.",
        discussion: """
        For local development and benchmarks: any Kafka client (the relay, kcat) connects to the bootstrap list it \
        prints. Its limits: it keeps only about 5 MB per partition (older data is trimmed: use many partitions and \
        compression for big backlogs), does not implement offsets by timestamp or DescribeGroups, and loses \
        everything when it stops. Stop its clients (the relay, kcat) before it: a client whose broker is gone logs \
        every refused reconnection as an error.
        """)

    @Option(name: .long, help: "Topics to create, comma-separated (e.g. braze.currents,braze.currents.dlq).")
    var topics: String = "braze.currents,braze.currents.dlq"

    @Option(name: .long, help: "Partitions per topic.")
    var partitions: Int = 16

    @Option(name: .long, help: "Number of brokers.")
    var brokers: Int = 1

    @Option(name: .long, help: "Also write the bootstrap list to this file (for scripts).")
    var bootstrapFile: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...10_000).contains(partitions) else { throw ValidationError("--partitions must be in 1...10000") }
        guard (1...9).contains(brokers) else { throw ValidationError("--brokers must be in 1...9") }
        guard !topics.split(separator: ",").isEmpty else { throw ValidationError("--topics: name at least one topic") }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        let names = topics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        // Its clients are other processes, which should stop first (see the discussion above);
        // `withCluster` still stops the brokers in the same order as `demo` does.
        try await MockCluster.withCluster(brokers: brokers, logger: logger) { cluster in
            for name in names {
                try cluster.createTopic(name, partitions: partitions, replicationFactor: min(3, brokers))
            }
            if let bootstrapFile {
                try cluster.bootstrapServers.write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
            }
            printNow(cluster.bootstrapServers)
            printError("embedded broker: \(brokers) broker(s), topics \(names.joined(separator: ", ")) with \(partitions) partitions each; bootstrap \(cluster.bootstrapServers); SIGINT stops it")
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
            for await _ in signals { break }
        }
    }
}
