import Crdkafka
import Logging
import NIOConcurrencyHelpers

/// Connects to one broker address alone, with the configured security settings, and asks it for
/// the cluster's brokers: whether that broker answers, and librdkafka's own reason when it does
/// not ("Connect to ipv4#10.0.0.7:9092 failed: Connection refused", "SASL authentication
/// error: ...", "SSL handshake failed: ...").
///
/// A client over the whole bootstrap list hides a broker that fails as long as another answers,
/// and says only "Broker transport failure" when none does; `doctor` needs the broker and the
/// reason, so each address gets a short-lived client of its own.
public enum KafkaBrokerProbe {
    /// librdkafka errors that settle a probe: the connection, the name lookup, TLS or SASL failed.
    static let decisive: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT.rawValue, RD_KAFKA_RESP_ERR__RESOLVE.rawValue, RD_KAFKA_RESP_ERR__SSL.rawValue,
        RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue,
    ]

    /// The first error that says why the broker failed, not merely that it is down: any code
    /// (a listener that is not Kafka's answers `_BAD_MSG`, "Invalid response size").
    private static func reason(_ reported: NIOLockedValueBox<[KafkaError]>) -> KafkaError? {
        reported.withLockedValue { errors in
            errors.first { $0.code != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue }
        }
    }

    /// Asks `address` for the cluster's brokers.
    ///
    /// Blocks the calling thread for up to `timeout` (less when librdkafka reports a failure
    /// sooner: a refused connection ends the probe at once instead of waiting out the timeout).
    ///
    /// - Parameters:
    ///   - address: One `host:port`.
    ///   - properties: `kafka.properties` as configured: `security.protocol`, `sasl.*`, `ssl.*`, ...
    ///   - timeout: The longest the probe may take.
    ///   - logger: Where librdkafka's own log lines go.
    /// - Returns: The brokers the cluster advertises, by id; or the failure, with librdkafka's
    ///   reason in its message.
    public static func brokers(at address: String, properties: [String: String], timeout: Duration,
                               logger: Logger) -> Result<[KafkaBroker], KafkaError> {
        let context = CallbackContext(logger: logger)
        let reported = NIOLockedValueBox<[KafkaError]>([])
        context.errorHandler = { error in reported.withLockedValue { $0.append(error) } }
        var settings: [(String, String)] = [("bootstrap.servers", address), ("client.id", "currents-relay-doctor")]
        settings += properties.filter { $0.key != "bootstrap.servers" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let handle: OpaquePointer
        do {
            let conf = try makeConf(settings)
            installCommonCallbacks(conf: conf, context: context)
            handle = try makeClient(type: RD_KAFKA_CONSUMER, conf: conf)
        } catch let error as KafkaError {
            return .failure(error)
        } catch {
            return .failure(KafkaError(kind: .clientCreation, message: "\(error)"))
        }
        defer {
            rd_kafka_consumer_close(handle)
            destroyClient(handle)
            withExtendedLifetime(context) {}
        }
        let deadline = ContinuousClock.now + timeout
        var last = RD_KAFKA_RESP_ERR__TIMED_OUT
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let slice = Int32(max(1, min(200, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)))
            var metadata: UnsafePointer<rd_kafka_metadata>?
            // Brokers only: no topic is named, and none is known to this new client.
            last = rd_kafka_metadata(handle, 0, nil, &metadata, slice)
            if last == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                defer { rd_kafka_metadata_destroy(metadata) }
                return .success((0..<Int(metadata.pointee.broker_cnt)).map { index in
                    let broker = metadata.pointee.brokers[index]
                    return KafkaBroker(id: broker.id, host: String(cString: broker.host), port: Int(broker.port))
                }.sorted())
            }
            // The error callback runs only while the client is polled.
            rd_kafka_poll(handle, 0)
            guard let failed = reported.withLockedValue({ $0.first { decisive.contains($0.code) } }) else { continue }
            if failed.code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue && reason(reported) == nil {
                // "1/1 brokers are down" can come before the connection's own error, which says why.
                rd_kafka_poll(handle, 200)
            }
            return .failure(reason(reported) ?? failed)
        }
        let seconds = timeout.components.seconds
        return .failure(KafkaError(kind: .client, responseError: last == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_RESP_ERR__TIMED_OUT : last,
                                   context: "\(address) did not answer within \(seconds > 0 ? "\(seconds) s" : "the time allowed")"))
    }
}
