import Logging
import Testing
@testable import Kafka

/// `doctor`'s Kafka side against the embedded broker: one address asked on its own, with
/// librdkafka's reason when it does not answer, and a topic's configuration where the broker
/// cannot give it.
@Suite(.timeLimit(.minutes(10))) struct KafkaBrokerProbeTests {
    var quiet: Logger {
        var logger = Logger(label: "probe-tests")
        logger.logLevel = .critical
        return logger
    }

    @Test func eachAddressReportsTheClustersBrokers() throws {
        let cluster = try MockCluster(brokers: 3, logger: quiet)
        let addresses = cluster.bootstrapServers.split(separator: ",").map(String.init)
        #expect(addresses.count == 3)
        for address in addresses {
            let brokers = try KafkaBrokerProbe.brokers(at: address, properties: [:], timeout: scaled(.seconds(10)), logger: quiet).get()
            #expect(brokers.map(\.id) == [1, 2, 3])
            #expect(Set(brokers.map(\.address)) == Set(addresses))
        }
    }

    /// A refused connection ends the probe at once, with librdkafka's words naming the address,
    /// rather than after the timeout with "Broker transport failure".
    @Test func aRefusedAddressSaysWhyWellBeforeTheTimeout() throws {
        let started = ContinuousClock.now
        let result = KafkaBrokerProbe.brokers(at: "127.0.0.1:1", properties: [:], timeout: .seconds(20), logger: quiet)
        let elapsed = ContinuousClock.now - started
        guard case .failure(let error) = result else {
            Issue.record("a closed port answered: \(result)")
            return
        }
        #expect(error.message.contains("127.0.0.1:1"), "\(error)")
        #expect(error.message.contains("Connection refused"), "\(error)")
        #expect(error.codeName == "_TRANSPORT", "\(error)")
        #expect(elapsed < .seconds(10), "took \(elapsed)")
    }

    /// The security settings are the configured ones: a protocol the broker does not speak fails
    /// the probe with librdkafka's reason.
    @Test func theConfiguredSecuritySettingsAreUsed() throws {
        let cluster = try MockCluster(brokers: 1, logger: quiet)
        let result = KafkaBrokerProbe.brokers(at: cluster.bootstrapServers, properties: ["security.protocol": "ssl"],
                                              timeout: scaled(.seconds(10)), logger: quiet)
        guard case .failure(let error) = result else {
            Issue.record("a plaintext broker answered an SSL client: \(result)")
            return
        }
        #expect(error.message.contains(cluster.bootstrapServers), "\(error)")
    }

    /// The embedded broker names broker 0 as its controller (its brokers count from 1) and has no
    /// DescribeConfigs: librdkafka would wait for that controller until the timeout, so the
    /// inspector says so at once.
    @Test func theEmbeddedBrokersTopicConfigurationIsUnsupportedAtOnce() throws {
        let cluster = try MockCluster(brokers: 1, logger: quiet)
        try cluster.createTopic("configured", partitions: 1)
        let inspector = try KafkaInspector(bootstrapServers: cluster.bootstrapServers, groupID: "probe-tests", logger: quiet)
        let started = ContinuousClock.now
        #expect {
            _ = try inspector.topicConfiguration("configured", timeoutMs: 20_000)
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.isUnsupportedByBroker && error.message.contains("controller")
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
