import Kafka

/// One address tried on its own, and what it answered: the cluster's brokers, or librdkafka's
/// reason for not answering.
public struct BrokerProbe: Sendable, Equatable {
    public var address: String
    public var result: Result<[KafkaBroker], KafkaError>

    public init(address: String, result: Result<[KafkaBroker], KafkaError>) {
        self.address = address
        self.result = result
    }

    /// The brokers it reported; nil when it did not answer.
    var brokers: [KafkaBroker]? { try? result.get() }

    /// Why it did not answer; nil when it did.
    var failure: KafkaError? {
        if case .failure(let error) = result { return error }
        return nil
    }
}
