import Crdkafka
import Logging

/// The embedded broker: librdkafka's mock cluster, which speaks the real Kafka protocol on
/// 127.0.0.1 TCP ports, so any client (the relay, kcat, another process) can use it.
///
/// Limits of librdkafka 2.0.2's mock: ephemeral ports, ~5 MB kept per partition, no ListOffsets by
/// timestamp, and rebalance rounds bounded by the members' session timeout.
public final class MockCluster: @unchecked Sendable {
    // @unchecked: the mock cluster is driven by its own thread; its API is thread-safe.

    private let client: OpaquePointer
    private let cluster: OpaquePointer
    private let context: CallbackContext
    public let brokerCount: Int

    /// Starts `brokers` brokers.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "currents-relay.mock-cluster")) throws {
        precondition(brokers >= 1, "a cluster needs at least one broker")
        let context = CallbackContext(logger: logger)
        self.context = context
        // The mock cluster runs on a client handle; it never talks to a real broker.
        let conf = try makeConf([("client.id", "mock-cluster"), ("log_level", "3")])
        installCommonCallbacks(conf: conf, context: context)
        client = try makeClient(type: RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(client, Int32(brokers)) else {
            destroyClient(client)
            throw KafkaError(kind: .mockCluster, message: "cannot start the embedded broker")
        }
        self.cluster = cluster
        brokerCount = brokers
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        destroyClient(client)
    }

    /// Kafka clients (consumers, producers, inspectors) made in this process, not yet destroyed,
    /// whose bootstrap list is this cluster's.
    public var openClients: Int { OpenClients.count(bootstrapServers: bootstrapServers) }

    /// Waits until every client of this cluster made in this process has been destroyed, or the
    /// timeout passes; returns how many are still open. Stop the brokers only after this: a client
    /// that outlives its brokers reconnects and librdkafka logs each refused connection at error
    /// level, which after a clean run reads as a failure. A client is destroyed when its last
    /// reference goes (close it first), so this also finds one that is kept alive by mistake.
    public func waitForClientsToClose(timeout: Duration = .seconds(5)) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while true {
            let open = openClients
            if open == 0 || ContinuousClock.now >= deadline { return open }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The bootstrap list, e.g. `127.0.0.1:40123,127.0.0.1:40125`.
    public var bootstrapServers: String {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic. Auto-created topics get 4 partitions; use this for any other count.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let result = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(min(replicationFactor, brokerCount)))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .mockCluster, responseError: result, context: "create topic \(name)")
        }
    }

    /// Takes a broker down (connections closed, new ones refused) or brings it back. Ids start at 1.
    public func setBroker(_ id: Int32, up: Bool) throws {
        let result = up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .mockCluster, responseError: result, context: "set broker \(id) \(up ? "up" : "down")")
        }
    }

    /// Adds round-trip latency to a broker.
    public func setBrokerRTT(_ id: Int32, milliseconds: Int) throws {
        let result = rd_kafka_mock_broker_set_rtt(cluster, id, Int32(milliseconds))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(kind: .mockCluster, responseError: result, context: "set broker \(id) rtt")
        }
    }

    /// Makes the next `count` requests of a Kafka API (by ApiKey, e.g. 8 = OffsetCommit, 1 = Fetch)
    /// fail with `error` (a Kafka protocol error code).
    public func failNextRequests(apiKey: Int16, error: Int32, count: Int) {
        var errors = [rd_kafka_resp_err_t](repeating: rd_kafka_resp_err_t(error), count: count)
        errors.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    /// Well-known ApiKeys for `failNextRequests`.
    public enum ApiKey {
        public static let produce: Int16 = 0
        public static let fetch: Int16 = 1
        public static let listOffsets: Int16 = 2
        public static let offsetCommit: Int16 = 8
        public static let offsetFetch: Int16 = 9
    }
}

extension MockCluster {
    /// Starts a cluster, runs `body` with it, and stops the brokers only after every client of
    /// theirs made in this process has been destroyed: the owner stops in order, its relay, then
    /// its clients, then the brokers. When `body` throws, the brokers stop the same way.
    ///
    /// A client still open after `clientsTimeout` is named in a warning (something keeps it alive)
    /// and the brokers stop anyway.
    public static func withCluster<Value>(brokers: Int, logger: Logger, clientsTimeout: Duration = .seconds(5),
                                          _ body: (MockCluster) async throws -> Value) async throws -> Value {
        let cluster = try MockCluster(brokers: brokers, logger: logger)
        let outcome: Result<Value, any Error>
        do {
            outcome = .success(try await body(cluster))
        } catch {
            outcome = .failure(error)
        }
        let open = await cluster.waitForClientsToClose(timeout: clientsTimeout)
        if open > 0 {
            logger.warning("embedded broker stopping with Kafka clients still open; they will log refused connections", metadata: [
                "open_clients": "\(open)", "waited_s": "\(clientsTimeout.components.seconds)",
            ])
        }
        // `cluster` is released here, the last reference: its deinit stops the brokers.
        return try outcome.get()
    }
}
