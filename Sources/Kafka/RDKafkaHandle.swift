import Crdkafka
import Foundation
import Logging
import NIOConcurrencyHelpers

/// Names of properties whose values must never appear in an error or a log line.
let secretPropertyMarkers = ["password", "secret", "sasl.oauthbearer.config", "ssl.key.pem", "ssl_key"]

func isSecretProperty(_ name: String) -> Bool {
    secretPropertyMarkers.contains { name.lowercased().contains($0) }
}

/// Builds an `rd_kafka_conf_t`, turning librdkafka's rejections into `KafkaError.configuration`.
func makeConf(_ properties: [(String, String)]) throws -> OpaquePointer {
    let conf = rd_kafka_conf_new()!
    var errorBuffer = [CChar](repeating: 0, count: 512)
    for (name, value) in properties {
        let result = rd_kafka_conf_set(conf, name, value, &errorBuffer, errorBuffer.count)
        if result != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            var reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let shown = isSecretProperty(name) ? "<redacted>" : value
            // librdkafka may quote the rejected value; a secret one must not reach the error.
            if isSecretProperty(name) && !value.isEmpty { reason = reason.replacingOccurrences(of: value, with: "<redacted>") }
            throw KafkaError(kind: .configuration, message: "kafka property \(name)=\(shown): \(reason)")
        }
    }
    return conf
}

/// A property's effective value in `conf` (librdkafka's default when not set), if it has one.
func confValue(_ conf: OpaquePointer, _ name: String) -> String? {
    var size = 0
    guard rd_kafka_conf_get(conf, name, nil, &size) == RD_KAFKA_CONF_OK, size > 0 else { return nil }
    var buffer = [CChar](repeating: 0, count: size)
    guard rd_kafka_conf_get(conf, name, &buffer, &size) == RD_KAFKA_CONF_OK else { return nil }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Creates the client; on failure librdkafka keeps ownership of nothing, so the conf is destroyed.
/// The client is counted in `OpenClients` until `destroyClient`.
func makeClient(type: rd_kafka_type_t, conf: OpaquePointer) throws -> OpaquePointer {
    let bootstrapServers = confValue(conf, "bootstrap.servers") ?? ""
    var errorBuffer = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
        rd_kafka_conf_destroy(conf)
        let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw KafkaError(kind: .configuration, message: "cannot create Kafka client: \(reason)")
    }
    OpenClients.opened(handle, bootstrapServers: bootstrapServers)
    return handle
}

/// Destroys a client made by `makeClient` (its broker connections close) and stops counting it.
func destroyClient(_ handle: OpaquePointer) {
    rd_kafka_destroy(handle)
    OpenClients.destroyed(handle)
}

/// The librdkafka clients this process has made and not yet destroyed, with their bootstrap
/// lists, so the embedded broker can stop after its clients rather than before them
/// (`MockCluster.waitForClientsToClose`). A client whose broker stopped first keeps reconnecting
/// until it is destroyed, and librdkafka logs each refused connection at error level
/// ("Connect to ipv4#127.0.0.1:... failed: Connection refused"), which reads as a failure.
enum OpenClients {
    /// (handle address, bootstrap list), oldest first. A list, not a map by address: librdkafka
    /// may give a new client the address of one being destroyed before `destroyed` runs, and then
    /// removing the first entry of that address removes the old client's, not the new one's.
    private static let clients = NIOLockedValueBox<[(handle: UInt, bootstrapServers: String)]>([])

    static func opened(_ handle: OpaquePointer, bootstrapServers: String) {
        clients.withLockedValue { $0.append((UInt(bitPattern: handle), bootstrapServers)) }
    }

    static func destroyed(_ handle: OpaquePointer) {
        clients.withLockedValue { clients in
            if let index = clients.firstIndex(where: { $0.handle == UInt(bitPattern: handle) }) { clients.remove(at: index) }
        }
    }

    /// Clients whose bootstrap list is exactly this one.
    static func count(bootstrapServers: String) -> Int {
        clients.withLockedValue { $0.count { $0.bootstrapServers == bootstrapServers } }
    }
}

/// What librdkafka's callbacks need to reach Swift: passed as the handle's opaque pointer.
final class CallbackContext: @unchecked Sendable {
    let logger: Logger
    /// Set for consumers; called on the poll thread inside `rd_kafka_consumer_poll`.
    var rebalance: ((OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    /// Set for producers: delivery reports, called on the producer's poll thread.
    var errorHandler: ((KafkaError) -> Void)?
    /// Statistics reports (`statistics.interval.ms`), parsed.
    var statistics: ((KafkaStatistics) -> Void)?
    /// Producers: records queued without a continuation whose delivery failed.
    let failedDeliveries = NIOLockedValueBox(0)

    init(logger: Logger) {
        self.logger = logger
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> CallbackContext? {
        opaque.map { Unmanaged<CallbackContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// Routes librdkafka's log and error callbacks to swift-log. The context must outlive the handle.
func installCommonCallbacks(conf: OpaquePointer, context: CallbackContext) {
    rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
    rd_kafka_conf_set_log_cb(conf) { handle, level, facility, buffer in
        guard let handle, let context = CallbackContext.from(rd_kafka_opaque(handle)) else { return }
        let text = buffer.map { String(cString: $0) } ?? ""
        let facilityText = facility.map { String(cString: $0) } ?? ""
        let logLevel: Logger.Level = level <= 3 ? .error : (level == 4 ? .warning : (level <= 6 ? .info : .debug))
        context.logger.log(level: logLevel, "librdkafka: \(text)", metadata: ["facility": .string(facilityText)])
    }
    rd_kafka_conf_set_stats_cb(conf) { handle, json, length, _ in
        guard let handle, let json, let context = CallbackContext.from(rd_kafka_opaque(handle)), let handler = context.statistics else { return 0 }
        let bytes = Array(UnsafeRawBufferPointer(start: json, count: length))
        if let statistics = KafkaStatistics.parse(bytes) { handler(statistics) }
        return 0
    }
    rd_kafka_conf_set_error_cb(conf) { handle, code, reason, _ in
        guard let handle, let context = CallbackContext.from(rd_kafka_opaque(handle)) else { return }
        let error = KafkaError(
            kind: .client, code: code, codeName: String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(code))),
            message: reason.map { String(cString: $0) } ?? "unknown")
        context.errorHandler?(error)
    }
}

/// Converts a C partition list into Swift values.
func topicPartitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
    let count = Int(list.pointee.cnt)
    var result: [(TopicPartition, Int64, rd_kafka_resp_err_t)] = []
    result.reserveCapacity(count)
    for index in 0..<count {
        let element = list.pointee.elems[index]
        result.append((TopicPartition(String(cString: element.topic), element.partition), element.offset, element.err))
    }
    return result
}

/// Builds a C partition list; the caller destroys it.
func makePartitionList(_ entries: [(TopicPartition, Int64?)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
    for (topicPartition, offset) in entries {
        let element = rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition)!
        if let offset { element.pointee.offset = offset }
    }
    return list
}

/// Checks properties the way librdkafka will when a client is made (names, values, types),
/// without connecting; secret values never appear in the error.
public func validateKafkaProperties(_ properties: [String: String]) throws {
    let conf = try makeConf(properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    rd_kafka_conf_destroy(conf)
}

/// Commits exactly these offsets on a consumer handle and waits for the broker's answer, failing on
/// the first partition the broker refused.
func commitOffsets(_ handle: OpaquePointer, _ offsets: [TopicPartition: Int64]) throws {
        let list = makePartitionList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_commit(handle, list, 0)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: result, context: "commit offsets")
        }
        for (topicPartition, _, error) in topicPartitions(list) where error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(kind: .client, responseError: error, context: "commit offset for \(topicPartition)")
        }
}
