import Crdkafka

extension KafkaInspector {
    /// A topic's configuration as the brokers hold it (`retention.ms`, `cleanup.policy`, ...), read
    /// with the Admin API's DescribeConfigs: every entry the broker reports, defaults included.
    ///
    /// `doctor` compares the retention of the source and dead-letter topics with the age limit
    /// through this. librdkafka sends DescribeConfigs to the cluster's controller. librdkafka
    /// 2.0.2's embedded broker names broker 0 as its controller, which is none of its brokers
    /// (they count from 1), and does not implement DescribeConfigs either: librdkafka would wait
    /// for that controller until the timeout. So when the controller is not one of the brokers,
    /// this throws at once an error whose `isUnsupportedByBroker` is true, and the caller reports
    /// the retention as unknown.
    ///
    /// - Parameters:
    ///   - topic: The topic's name.
    ///   - timeoutMs: How long to wait for the broker's answer.
    /// - Returns: Each configuration entry's name and value; an entry without a value (a
    ///   sensitive one) is left out.
    public func topicConfiguration(_ topic: String, timeoutMs: Int32 = 10_000) throws -> [String: String] {
        let controller = rd_kafka_controllerid(handle, timeoutMs)
        let brokers = try brokerIDs(timeoutMs: timeoutMs)
        guard controller >= 0, brokers.contains(controller) else {
            let named = controller >= 0 ? "names broker \(controller) as its controller, which is none of its brokers" : "names no controller"
            throw KafkaError(kind: .client, code: RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE.rawValue,
                             codeName: String(cString: rd_kafka_err2name(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)),
                             message: "the cluster \(named), so it cannot answer DescribeConfigs (librdkafka's embedded broker does this)")
        }
        guard let queue = rd_kafka_queue_new(handle) else {
            throw KafkaError(kind: .client, message: "describe configs of \(topic): cannot make a result queue")
        }
        defer { rd_kafka_queue_destroy(queue) }
        guard let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS) else {
            throw KafkaError(kind: .client, message: "describe configs of \(topic): cannot make admin options")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorBuffer = [CChar](repeating: 0, count: 256)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, max(1, timeoutMs), &errorBuffer, errorBuffer.count)
        guard let resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic) else {
            throw KafkaError(kind: .client, message: "describe configs of \(topic): cannot make the resource")
        }
        defer { rd_kafka_ConfigResource_destroy(resource) }
        var resources: [OpaquePointer?] = [resource]
        rd_kafka_DescribeConfigs(handle, &resources, 1, options, queue)
        // The request's own timeout answers first; the extra second only covers librdkafka's
        // bookkeeping around it.
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1000) else {
            throw KafkaError(kind: .client, responseError: RD_KAFKA_RESP_ERR__TIMED_OUT, context: "describe configs of \(topic)")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(kind: .client, code: eventError.rawValue, codeName: String(cString: rd_kafka_err2name(eventError)),
                             message: "describe configs of \(topic): \(text)")
        }
        guard let result = rd_kafka_event_DescribeConfigs_result(event) else {
            throw KafkaError(kind: .client, message: "describe configs of \(topic): no result in the broker's answer")
        }
        var count = 0
        guard let answered = rd_kafka_DescribeConfigs_result_resources(result, &count), count > 0, let first = answered[0] else {
            throw KafkaError(kind: .client, message: "describe configs of \(topic): the broker answered no resource")
        }
        let resourceError = rd_kafka_ConfigResource_error(first)
        guard resourceError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .client, responseError: resourceError, context: "describe configs of \(topic)")
        }
        var entryCount = 0
        guard let entries = rd_kafka_ConfigResource_configs(first, &entryCount) else { return [:] }
        var configuration: [String: String] = [:]
        for index in 0..<entryCount {
            guard let entry = entries[index], let value = rd_kafka_ConfigEntry_value(entry) else { continue }
            configuration[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
        }
        return configuration
    }

    /// The ids of the brokers the cluster's metadata lists.
    private func brokerIDs(timeoutMs: Int32) throws -> Set<Int32> {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(kind: .client, responseError: result, context: "cluster metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return Set((0..<Int(metadata.pointee.broker_cnt)).map { metadata.pointee.brokers[$0].id })
    }
}
