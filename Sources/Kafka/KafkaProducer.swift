import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Where the broker put a delivered record.
public struct KafkaDeliveryReport: Sendable, Equatable {
    public var topicPartition: TopicPartition
    public var offset: Int64
}

/// A producer whose `send` returns only when librdkafka's delivery report says the broker has the
/// record (with `acks=all` and idempotence by default), so a caller can settle work on it.
public final class KafkaProducer: @unchecked Sendable {
    // @unchecked: `handle` is thread-safe in librdkafka; `running` is behind a lock.

    private let handle: OpaquePointer
    private let context: CallbackContext
    private let logger: Logger
    private let running = NIOLockedValueBox(true)
    private let pollThreadDone = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
    private let pollThreadFinished = NIOLockedValueBox(false)

    /// Holds the caller's continuation between `produceva` and the delivery report.
    private final class Delivery {
        let continuation: CheckedContinuation<KafkaDeliveryReport, Error>
        init(_ continuation: CheckedContinuation<KafkaDeliveryReport, Error>) { self.continuation = continuation }
    }

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        self.logger = logger
        let context = CallbackContext(logger: logger)
        self.context = context
        context.errorHandler = { error in
            logger.warning("kafka producer error", metadata: ["error": "\(error)"])
        }
        let conf = try makeConf(configuration.librdkafkaProperties)
        installCommonCallbacks(conf: conf, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, contextPointer in
            guard let message else { return }
            guard let opaque = message.pointee._private else {
                // A record queued with `enqueue`: only failures are kept, as a count.
                if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR, let context = CallbackContext.from(contextPointer) {
                    context.failedDeliveries.withLockedValue { $0 += 1 }
                }
                return
            }
            let delivery = Unmanaged<Delivery>.fromOpaque(opaque).takeRetainedValue()
            let raw = message.pointee
            if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                delivery.continuation.resume(returning: KafkaDeliveryReport(
                    topicPartition: TopicPartition(topic, raw.partition), offset: raw.offset))
            } else {
                delivery.continuation.resume(throwing: KafkaError(kind: .delivery, responseError: raw.err, context: "delivery"))
            }
        }
        handle = try makeClient(type: RD_KAFKA_PRODUCER, conf: conf)
        let thread = Thread { [self] in self.pollLoop() }
        thread.name = "kafka-producer-poll"
        thread.start()
    }

    deinit {
        destroyClient(handle)
    }

    /// Sends one record and waits for its delivery report.
    /// - Parameter partition: `nil` lets the partitioner choose by key.
    @discardableResult
    public func send(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = [], timestampMs: Int64? = nil
    ) async throws -> KafkaDeliveryReport {
        while true {
            guard running.withLockedValue({ $0 }) else { throw KafkaError(kind: .closed, message: "producer is closed") }
            do {
                return try await withCheckedThrowingContinuation { continuation in
                    let delivery = Unmanaged.passRetained(Delivery(continuation))
                    let error = produce(topic: topic, partition: partition, key: key, value: value,
                                        headers: headers, timestampMs: timestampMs, opaque: delivery.toOpaque())
                    if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                        // Not enqueued: no report will come, so the continuation is ours to resume.
                        delivery.release()
                        if error == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                            continuation.resume(throwing: QueueFull())
                        } else {
                            continuation.resume(throwing: KafkaError(kind: .delivery, responseError: error, context: "produce to \(topic)"))
                        }
                    }
                }
            } catch is QueueFull {
                // librdkafka's local queue is full: wait for delivery reports to drain it.
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    private struct QueueFull: Error {}

    /// Queues one record without waiting for its delivery report, for bulk loading (seeding,
    /// benchmarks); waits while librdkafka's local queue is full. Call `flush` to wait for every
    /// report; `failedDeliveries` counts the records the broker did not take.
    public func enqueue(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, timestampMs: Int64? = nil) async throws {
        while true {
            guard running.withLockedValue({ $0 }) else { throw KafkaError(kind: .closed, message: "producer is closed") }
            let error = produce(topic: topic, partition: partition, key: key, value: value, headers: [], timestampMs: timestampMs, opaque: nil)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            guard error == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                throw KafkaError(kind: .delivery, responseError: error, context: "produce to \(topic)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Records queued with `enqueue` that the broker did not take.
    public var failedDeliveries: Int { context.failedDeliveries.withLockedValue { $0 } }

    private func produce(
        topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader], timestampMs: Int64?, opaque: UnsafeMutableRawPointer?
    ) -> rd_kafka_resp_err_t {
        let cHeaders = rd_kafka_headers_new(headers.count)!
        for header in headers {
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(cHeaders, header.key, -1, bytes.baseAddress, bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(cHeaders, header.key, -1, nil, 0)
            }
        }
        return topic.withCString { topicName in
            withOptionalBytes(key) { keyBytes in
                withOptionalBytes(value) { valueBytes in
                    var values: [rd_kafka_vu_t] = []
                    var vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_TOPIC; vu.u.cstr = topicName; values.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_PARTITION; vu.u.i32 = partition ?? RD_KAFKA_PARTITION_UA; values.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS; vu.u.i = RD_KAFKA_MSG_F_COPY; values.append(vu)
                    if let valueBytes { values.append(memoryValue(RD_KAFKA_VTYPE_VALUE, valueBytes)) }
                    if let keyBytes { values.append(memoryValue(RD_KAFKA_VTYPE_KEY, keyBytes)) }
                    if let timestampMs {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_TIMESTAMP; vu.u.i64 = timestampMs; values.append(vu)
                    }
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_HEADERS; vu.u.headers = cHeaders; values.append(vu)
                    if let opaque {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_OPAQUE; vu.u.ptr = opaque; values.append(vu)
                    }
                    let error = values.withUnsafeBufferPointer { rd_kafka_produceva(handle, $0.baseAddress, $0.count) }
                    guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
                    // On failure the headers were not taken over.
                    rd_kafka_headers_destroy(cHeaders)
                    let code = rd_kafka_error_code(error)
                    rd_kafka_error_destroy(error)
                    return code
                }
            }
        }
    }

    /// Waits until every queued record has its delivery report, or the timeout passes.
    /// Returns false when records are still outstanding.
    @discardableResult
    public func flush(timeout: Duration = .seconds(30)) -> Bool {
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return rd_kafka_flush(handle, milliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Records not yet acknowledged by the broker.
    public var outstanding: Int { Int(rd_kafka_outq_len(handle)) }

    /// Flushes, then stops the poll thread. Later sends throw `.closed`.
    public func close(timeout: Duration = .seconds(30)) async {
        if !flush(timeout: timeout) {
            logger.error("producer closed with undelivered records", metadata: ["outstanding": "\(outstanding)"])
        }
        running.withLockedValue { $0 = false }
        await withCheckedContinuation { continuation in
            let finished = pollThreadFinished.withLockedValue { finished -> Bool in
                if !finished { pollThreadDone.withLockedValue { $0 = continuation } }
                return finished
            }
            if finished { continuation.resume() }
        }
    }

    private func pollLoop() {
        while running.withLockedValue({ $0 }) {
            rd_kafka_poll(handle, 100)
        }
        rd_kafka_poll(handle, 0)
        let waiter = pollThreadFinished.withLockedValue { finished -> CheckedContinuation<Void, Never>? in
            finished = true
            return pollThreadDone.withLockedValue { waiter in
                defer { waiter = nil }
                return waiter
            }
        }
        waiter?.resume()
    }
}

/// A key or value argument of `rd_kafka_produceva` (copied by librdkafka: `RD_KAFKA_MSG_F_COPY`).
private func memoryValue(_ type: rd_kafka_vtype_t, _ bytes: UnsafeRawBufferPointer) -> rd_kafka_vu_t {
    var vu = rd_kafka_vu_t()
    vu.vtype = type
    // An empty buffer may have no base address; a non-null pointer with size 0 is an empty value.
    vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)
    vu.u.mem.size = bytes.count
    return vu
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
