import Currents
@testable import Kafka
import Logging
import Relay
import Testing

/// Commands and tests stop in order: the relay, then its Kafka clients, then the brokers. A client
/// that outlives its brokers keeps reconnecting and librdkafka logs every refusal at error level.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ShutdownOrderEndToEndTests {
    /// A relay that has stopped destroys its consumer and dead-letter producer once released. The
    /// consumer's revoke hook held the pipeline, which holds the consumer: neither was ever freed,
    /// so every relay's consumer stayed connected to the brokers until the process exited.
    @Test func aStoppedRelayLeavesNoKafkaClientOfItsBrokersOpen() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 2)
        try await harness.seed(SampleEvents(seed: 28, anonymousPercent: 0).records(count: 300))
        let ends = try harness.endOffsets()
        #expect(await harness.cluster.waitForClientsToClose(timeout: .seconds(5)) == 0, "the seeder and the observer are closed")

        try await relayUntilCommitted(harness, ends)

        let open = await harness.cluster.waitForClientsToClose(timeout: .seconds(10))
        #expect(open == 0, "\(open) Kafka client(s) of the stopped relay still open")
        await harness.stop()
    }

    /// Runs a relay until every offset is committed and stops it; its references end here.
    private func relayUntilCommitted(_ harness: Harness, _ ends: [TopicPartition: Int64]) async throws {
        let (relay, task) = try harness.startRelay(group: "e2e-shutdown-order")
        try await harness.waitUntilCommitted("e2e-shutdown-order", reach: ends)
        await relay.shutdown(timeout: .seconds(5))
        try await task.value
    }

    /// `withCluster` stops the brokers only after their clients are gone: a producer closed and
    /// released a moment after the body returned is destroyed before the cluster is.
    @Test func withClusterStopsTheBrokersAfterTheirClients() async throws {
        var logger = Logger(label: "e2e")
        logger.logLevel = .error
        let (bootstrap, openAtStop) = try await MockCluster.withCluster(brokers: 1, logger: logger) { cluster in
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers, clientID: "late"), logger: logger)
            try await producer.send(topic: "late", key: nil, value: Array("x".utf8))
            Task.detached {
                try? await Task.sleep(for: .milliseconds(300))
                await producer.close()
            }
            return (cluster.bootstrapServers, cluster.openClients)
        }
        #expect(openAtStop == 1, "the producer was still open when the body returned")
        #expect(OpenClients.count(bootstrapServers: bootstrap) == 0, "withCluster returned before the late producer was destroyed")
    }
}
