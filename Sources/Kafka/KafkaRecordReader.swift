import Crdkafka
import Dispatch
import Logging
import NIOConcurrencyHelpers

/// Reads records back by offset with an assign-only consumer (no group membership, no commits).
///
/// The relay keeps only where an unsettled record is (topic, partition, offset, timestamp), not
/// its bytes: at 0.6-1 KB per record that was most of the memory a large grouping window costs.
/// When a record must be parked after all, this reads the original again, so the dead-letter
/// record still carries its exact key, value, headers and timestamp.
///
/// Each read assigns one partition at the first wanted offset and reads forward; wanted offsets far
/// apart are read as separate runs rather than everything between them. An offset the broker no
/// longer has (retention, compaction) is missing from the answer. Reads run one at a time on a
/// thread of their own: librdkafka's calls block, and the relay's tasks share two cooperative threads.
public final class KafkaRecordReader: @unchecked Sendable {
    // @unchecked: `handle` is used only on `queue`, one read at a time; `closed` is locked.

    private let handle: OpaquePointer
    private let context: CallbackContext
    private let queue = DispatchQueue(label: "currents-relay.kafka-record-reader")
    private let closed = NIOLockedValueBox(false)
    private let logger: Logger

    /// Offsets closer than this are read in one run (reading the records between them is cheaper
    /// than a new fetch from a new position).
    static let maxGap: Int64 = 2_000

    /// - Parameters:
    ///   - properties: the user's librdkafka properties (security, DNS, ...); the reader's own
    ///     settings (no group, no commits, end-of-partition events) are applied over them.
    public init(bootstrapServers: String, clientID: String, properties: [String: String] = [:], logger: Logger) throws {
        self.logger = logger
        let context = CallbackContext(logger: logger)
        self.context = context
        var settings: [(String, String)] = [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
        settings += properties.filter { $0.key != "group.instance.id" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        settings += [
            // A group id is required for a consumer handle; this one never joins (assign only)
            // and never commits.
            ("group.id", "\(clientID)-reread"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            // An offset below the log start jumps to the first record there, which says the
            // wanted one is gone; one at the end says so with an end-of-partition event.
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "true"),
            ("queued.max.messages.kbytes", "1024"),
            ("fetch.max.bytes", "1048576"),
        ]
        let conf = try makeConf(settings)
        installCommonCallbacks(conf: conf, context: context)
        handle = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        // No read can be running: a read holds the reader. (Not `close()`: the last reference
        // may go on the reader's own queue, where waiting for that queue would never return.)
        if !closed.withLockedValue({ $0 }) { destroy() }
    }

    /// Destroys the client (its broker connections close), after a read in progress. Reads after
    /// this throw.
    public func close() {
        let first = closed.withLockedValue { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        queue.sync { destroy() }
    }

    private func destroy() {
        rd_kafka_consumer_close(handle)
        destroyClient(handle)
    }

    /// The records at these offsets, as they are in Kafka. An offset missing from the answer is no
    /// longer there. Throws when the brokers do not answer within `timeoutMs` of no progress.
    public func read(_ wanted: [TopicPartition: [Int64]], timeoutMs: Int = 30_000) async throws -> [TopicPartition: [Int64: KafkaMessage]] {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                if closed.withLockedValue({ $0 }) {
                    continuation.resume(throwing: KafkaError(kind: .closed, message: "the record reader is closed"))
                    return
                }
                do {
                    var found: [TopicPartition: [Int64: KafkaMessage]] = [:]
                    for (topicPartition, offsets) in wanted.sorted(by: { $0.key < $1.key }) {
                        for run in Self.runs(of: offsets) {
                            try read(run, of: topicPartition, timeoutMs: timeoutMs, into: &found[topicPartition, default: [:]])
                        }
                    }
                    continuation.resume(returning: found.filter { !$0.value.isEmpty })
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Sorted, distinct offsets split where two are more than `maxGap` apart.
    static func runs(of offsets: [Int64]) -> [[Int64]] {
        var runs: [[Int64]] = []
        for offset in Set(offsets).sorted() where offset >= 0 {
            if let last = runs.last?.last, offset - last <= maxGap {
                runs[runs.count - 1].append(offset)
            } else {
                runs.append([offset])
            }
        }
        return runs
    }

    /// Reads one run (queue only): from its first offset up to its last, the end of the partition,
    /// or a record past it.
    private func read(_ run: [Int64], of topicPartition: TopicPartition, timeoutMs: Int, into found: inout [Int64: KafkaMessage]) throws {
        guard let first = run.first else { return }
        let list = makePartitionList([(topicPartition, first)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let assigned = rd_kafka_assign(handle, list)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: assigned, context: "assign \(topicPartition)@\(first) to read it again")
        }
        defer { _ = rd_kafka_assign(handle, nil) }
        let wanted = Set(run)
        try Self.readRun(run, of: topicPartition, timeoutMs: timeoutMs, into: &found, now: { DispatchTime.now().uptimeNanoseconds }) {
            guard let message = rd_kafka_consumer_poll(handle, 100) else { return .nothing }
            defer { rd_kafka_message_destroy(message) }
            let raw = message.pointee
            // Records or events of an earlier assignment may still be queued.
            guard raw.partition == topicPartition.partition,
                  raw.rkt.map({ String(cString: rd_kafka_topic_name($0)) }) == topicPartition.topic else { return .elsewhere }
            if raw.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .endOfPartition }
            if raw.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .error(KafkaError(kind: .client, responseError: raw.err, context: "read \(topicPartition)@\(first) again"))
            }
            return .record(offset: raw.offset, message: wanted.contains(raw.offset) ? KafkaMessage(copying: message, topic: topicPartition.topic) : nil)
        }
    }

    /// What one poll of the reader's consumer gave.
    enum Poll {
        /// Nothing within the poll's wait.
        case nothing
        /// A record or event of another partition (an earlier assignment's, still queued).
        case elsewhere
        /// A transport or leadership error: it passes, the timeout ends a read that makes no progress.
        case error(KafkaError)
        case endOfPartition
        /// A record of the partition; its copy when it is one of the wanted offsets.
        case record(offset: Int64, message: KafkaMessage?)
    }

    /// The loop of one run's read, apart from librdkafka so tests can drive it: polls until the
    /// run's last offset, a record past it, or the end of the partition, and throws once
    /// `timeoutMs` pass without a record.
    ///
    /// The timeout is checked before every poll, whatever the last one gave: a broker that is
    /// down can keep sending error events, and a check only when a poll gave nothing would then
    /// never end the read.
    static func readRun(_ run: [Int64], of topicPartition: TopicPartition, timeoutMs: Int, into found: inout [Int64: KafkaMessage],
                        now: () -> UInt64, poll: () -> Poll) throws {
        guard let first = run.first, let last = run.last else { return }
        var lastProgress = now()
        var lastError: KafkaError?
        while true {
            if now() - lastProgress > UInt64(timeoutMs) * 1_000_000 {
                let reason = lastError.map { ": \($0)" } ?? ""
                throw KafkaError(kind: .client, message: "no record within \(timeoutMs) ms reading \(topicPartition)@\(first) again\(reason)")
            }
            switch poll() {
            case .nothing, .elsewhere:
                continue
            case .error(let error):
                lastError = error
            case .endOfPartition:
                return
            case .record(let offset, let message):
                lastProgress = now()
                if let message { found[offset] = message }
                if offset >= last { return }
            }
        }
    }
}
