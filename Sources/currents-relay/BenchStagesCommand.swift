import ArgumentParser
import CPUClock
import Currents
import Foundation
import Glibc
import Kafka
import Logging
import MParticle
import NIOConcurrencyHelpers
import Relay

/// Times the relay's own stages in one process, on the bench's generated records, with no broker
/// and no HTTP: what a change to the hot path does, without the noise of the other processes
/// `scripts/bench` runs beside the relay.
struct BenchStages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-stages",
        abstract: "Time the relay's stages in this process on generated records (no broker, no HTTP): CPU µs per record.",
        discussion: """
        --stage transform: decode, map and encode each record (one thread). --stage pipeline: the same plus batching, \
        offset tracking and sending, to an Events API that accepts every request at once, with the pipeline's own \
        back-pressure. Records are the bench's mix (all 50 types, Zipf s=1.1 over 100,000 users). Each round is timed on \
        its own; the table shows the fastest and the median round, then one JSON line (prefixed "STAGES ").

        --stage grouping times nothing: it works out the fewest mParticle batches per event any grouping could reach \
        if it held windows of 5,000 to 160,000 consecutive events (one batch per feed and distinct batch header in each \
        window), the floor under scripts/bench's batches per event for a given in-flight cap. One JSON line \
        (prefixed "GROUPING ").
        """)

    enum Stage: String, ExpressibleByArgument, CaseIterable { case transform, pipeline, grouping }

    @Option(name: .long, help: "Which stage: transform, pipeline or grouping.")
    var stage: Stage = .transform

    @Option(name: .long, help: "Records per round.")
    var events: Int = 100_000

    @Option(name: .long, help: "Rounds (the fastest shows what the code costs; the others show the machine's noise).")
    var rounds: Int = 5

    /// Warnings and above unless `--log-level` says otherwise: the stages' results go to stdout.
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() async throws {
        _ = logging.bootstrap(defaultLevel: .warning)
        let sample = SampleEvents(seed: 42, anonymousPercent: 5, users: 100_000, zipfExponent: 1.1)
        let partition = TopicPartition("braze.currents", 0)
        let messages = sample.records(count: events).enumerated().map {
            KafkaMessage(topicPartition: partition, offset: Int64($0.offset), timestampMs: nil, key: nil, value: $0.element.value)
        }
        let mapper = EventMapper(environment: .development, identityKey: "customerid",
                                 router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: [:]), selection: EventSelection())
        if stage == .grouping { return grouping(messages, mapper: mapper) }
        var perRecord: [Double] = []
        for round in 1...rounds {
            let microseconds = switch stage {
            case .transform: transform(messages, mapper: mapper)
            case .pipeline: await pipeline(messages, mapper: mapper)
            case .grouping: preconditionFailure("grouping is not timed (returned above)")
            }
            perRecord.append(microseconds / Double(messages.count))
            printError(String(format: "bench-stages: round %d of %d: %.2f µs/record", round, rounds, perRecord.last!))
        }
        let sorted = perRecord.sorted()
        let fastest = sorted[0], median = sorted[sorted.count / 2]
        func cell(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        print(["stage".padding(toLength: 10, withPad: " ", startingAt: 0), cell("records", 9), cell("rounds", 7),
               cell("fastest µs/rec", 15), cell("median µs/rec", 15)].joined(separator: " "))
        print([stage.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0), cell("\(events)", 9), cell("\(rounds)", 7),
               cell(String(format: "%.2f", fastest), 15), cell(String(format: "%.2f", median), 15)].joined(separator: " "))
        print("STAGES {\"stage\": \"\(stage.rawValue)\", \"records\": \(events), \"rounds\": \(rounds), "
              + String(format: "\"fastest_us_per_record\": %.3f, \"median_us_per_record\": %.3f}", fastest, median))
    }

    /// CPU microseconds of this thread transforming every record once.
    func transform(_ messages: [KafkaMessage], mapper: EventMapper) -> Double {
        let transform = RecordTransform(mapper: mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000)
        let wallNow = Int64(Date().timeIntervalSince1970 * 1000)
        let start = currents_relay_thread_cpu_microseconds()
        var sends = 0
        for message in messages { sends += transform.apply(message, wallNow: wallNow).sends.count }
        precondition(sends > 0, "the sample records map to events")
        return currents_relay_thread_cpu_microseconds() - start
    }

    /// CPU microseconds of the whole process while a pipeline takes every record and settles it.
    func pipeline(_ messages: [KafkaMessage], mapper: EventMapper) async -> Double {
        let logger = Logger(label: "bench-stages")
        let source = HandFedSource()
        let stats = RelayStats(name: "bench-stages")
        let sender = FeedSender(api: AcceptingEventsAPI(), baseURL: "http://in-process", credentials: { FeedCredentials(key: "k-\($0)", secret: "s") },
                                backoff: Backoff(baseMs: 1, capMs: 5), clock: SystemRelayClock(), stats: stats, logger: logger,
                                maxBatchesPerSecond: 1_000_000)
        let relay = RelayPipeline(source: source, mapper: mapper, sender: sender, deadLetters: DiscardingDeadLetters(), settings: .init(),
                                  stats: stats, logger: logger)
        let start = currents_relay_process_cpu_microseconds()
        let running = Task { await relay.run() }
        // Chunks of 500, as the poll thread hands them over, held back while the pipeline is paused.
        var index = 0
        while index < messages.count {
            while source.paused.withLockedValue({ $0 }) { try? await Task.sleep(for: .milliseconds(1)) }
            let end = min(index + 500, messages.count)
            source.continuation.yield(.messages(Array(messages[index..<end])))
            index = end
            await Task.yield()
        }
        while await relay.pendingRecords > 0 || source.taken.withLockedValue({ $0 }) < messages.count {
            try? await Task.sleep(for: .milliseconds(2))
        }
        let microseconds = currents_relay_process_cpu_microseconds() - start
        source.continuation.finish()
        await running.value
        return microseconds
    }

    /// The fewest batches per event a grouping holding `window` consecutive events could send:
    /// per window, one batch per feed and distinct header (mParticle's batch is one user's
    /// events with equal batch-level parts). A real pool slides instead of cutting the stream
    /// into windows, so it can do a little better than the same window here; a much smaller
    /// figure needs a much larger window (more records held in memory).
    func grouping(_ messages: [KafkaMessage], mapper: EventMapper) {
        let transform = RecordTransform(mapper: mapper, maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000)
        let wallNow = Int64(Date().timeIntervalSince1970 * 1000)
        struct Key: Hashable {
            var feed: Feed
            var header: [UInt8]
        }
        var keys: [Key] = []
        for message in messages {
            for send in transform.apply(message, wallNow: wallNow).sends { keys.append(Key(feed: send.feed, header: send.header)) }
        }
        let windows = [5_000, 10_000, 20_000, 40_000, 80_000, 160_000].filter { $0 < keys.count } + [keys.count]
        var rows: [(window: Int, batchesPerEvent: Double)] = []
        for window in windows {
            var batches = 0
            var start = 0
            while start < keys.count {
                let end = min(start + window, keys.count)
                batches += Set(keys[start..<end]).count
                start = end
            }
            rows.append((window, keys.isEmpty ? 0 : Double(batches) / Double(keys.count)))
        }
        printError("bench-stages: \(messages.count) records, \(keys.count) events to send")
        print("window (events)  batches/event")
        for row in rows { print(String(format: "%15d  %13.3f", row.window, row.batchesPerEvent)) }
        let list = rows.map { String(format: "{\"events\": %d, \"batches_per_event\": %.4f}", $0.window, $0.batchesPerEvent) }
        print("GROUPING {\"records\": \(messages.count), \"events\": \(keys.count), \"windows\": [\(list.joined(separator: ", "))]}")
    }
}

/// Records handed over by `bench-stages`; it follows the pipeline's pause like the consumer does.
final class HandFedSource: RecordSource {
    let events: AsyncStream<KafkaConsumerEvent>
    let continuation: AsyncStream<KafkaConsumerEvent>.Continuation
    let paused = NIOLockedValueBox(false)
    let taken = NIOLockedValueBox(0)
    init() { (events, continuation) = AsyncStream.makeStream() }
    func storeOffsets(_ offsets: [TopicPartition: Int64]) -> [TopicPartition: KafkaError] { [:] }
    func commit() throws {}
    func setPaused(_ paused: Bool) { self.paused.withLockedValue { $0 = paused } }
    func handled(_ count: Int) { taken.withLockedValue { $0 += count } }
    func close() async { continuation.finish() }
    /// The bench's API accepts everything: nothing is parked after a send, so nothing is read again.
    func reread(_ offsets: [TopicPartition: [Int64]]) async throws -> [TopicPartition: [Int64: KafkaMessage]] { [:] }
}

/// An Events API that accepts every request at once.
struct AcceptingEventsAPI: EventsAPI {
    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        EventsAPIResponse(status: 202)
    }
}

struct DiscardingDeadLetters: DeadLetterSink {
    func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws {}
    func close() async {}
}
