import ArgumentParser
import Currents
import Foundation
import Kafka
import Logging

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Produce sample Currents events (all 50 types) to a topic: for trying the relay and for benchmarks.",
        discussion: """
        Users are drawn from a Zipf distribution (--zipf 1.1 over --users 100000 by default: a few users send most \
        events), --anonymous-percent of them without an external_user_id. Records are written partition by partition (the same count in each) and compressed \
        with lz4. Prints the count and the time taken.
        """)

    @Option(name: .long, help: "Kafka bootstrap servers (e.g. the list `dev-broker` prints).")
    var bootstrapServers: String

    @Option(name: .long, help: "The topic to write to.")
    var topic: String = "braze.currents"

    @Option(name: .long, help: "How many events.")
    var events: Int = 10_000

    @Option(name: .long, help: "How many distinct users.")
    var users: Int = 100_000

    @Option(name: .long, help: "Zipf exponent of the users' activity; 0 draws users uniformly.")
    var zipf: Double = 1.1

    @Option(name: .long, help: "Share of users without an external_user_id, in percent.")
    var anonymousPercent: Int = 5

    @Option(name: .long, help: "Random seed (the same seed gives the same events).")
    var seed: UInt64 = 42

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard events >= 0 else { throw ValidationError("--events must not be negative") }
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        guard zipf >= 0 else { throw ValidationError("--zipf must not be negative") }
        guard (0...100).contains(anonymousPercent) else { throw ValidationError("--anonymous-percent must be in 0...100") }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers, clientID: "currents-relay-seed")
        // Full lz4 batches: the embedded broker keeps ~5 MB per partition, so the better the
        // compression, the larger the backlog it holds. At most 1 MB and 10,000 records each
        // (librdkafka's defaults, and about what a broker's default message.max.bytes lets
        // through): bigger batches than producers write would make the consumer's prefetch
        // arrive in unusually large pieces and flatter or skew the benchmark.
        configuration.lingerMs = 1000
        configuration.properties = ["batch.size": "1000000", "batch.num.messages": "10000", "queue.buffering.max.messages": "1000000", "queue.buffering.max.kbytes": "2000000"]
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let sample = SampleEvents(seed: seed, anonymousPercent: anonymousPercent, users: users, zipfExponent: zipf > 0 ? zipf : nil)
        let started = ContinuousClock.now
        // Partition by partition, the same count in each: every partition gets big lz4 batches (the
        // embedded broker keeps ~5 MB per partition), and Zipf-heavy users do not pile onto one.
        let inspector = try KafkaInspector(bootstrapServers: bootstrapServers, groupID: "currents-relay-seed", logger: logger)
        let partitions = max(1, try inspector.partitions(of: topic).count)
        let perPartition = max(1, (events + partitions - 1) / partitions)
        var produced = 0
        try await sample.forEachRecord(count: events) { record in
            try await producer.enqueue(topic: topic, partition: Int32(produced / perPartition), key: nil, value: record.value)
            produced += 1
            if produced % 100_000 == 0 { logger.info("seeded \(produced) of \(events) events") }
        }
        await producer.close(timeout: .seconds(120))
        let seconds = Double((ContinuousClock.now - started).components.seconds) + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
        let failed = producer.failedDeliveries
        print("seeded \(produced - failed) events to \(topic) in \(String(format: "%.1f", seconds)) s")
        if failed > 0 {
            printError("\(failed) records were not delivered")
            throw ExitCode.failure
        }
    }
}
