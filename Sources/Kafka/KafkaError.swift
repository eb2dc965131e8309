import Crdkafka

/// An error from librdkafka, carrying its own code and message so an operator can look it up.
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is, in our terms.
    public enum Kind: Sendable, Equatable {
        /// A configuration property was rejected (name, value redacted by the caller if secret).
        case configuration
        /// Creating a client handle failed.
        case clientCreation
        /// A call to the broker or the client failed.
        case client
        /// A message could not be produced or was not delivered.
        case delivery
        /// The embedded broker could not do what was asked.
        case mockCluster
        /// The client has been closed.
        case closed
    }

    public var kind: Kind
    /// librdkafka's `rd_kafka_resp_err_t` value (0 when not from a response code).
    public var code: Int32
    /// librdkafka's name for the code, e.g. `_ALL_BROKERS_DOWN` or `NOT_COORDINATOR`.
    public var codeName: String
    /// A readable explanation.
    public var message: String

    public init(kind: Kind, code: Int32 = 0, codeName: String = "", message: String) {
        self.kind = kind
        self.code = code
        self.codeName = codeName
        self.message = message
    }

    init(kind: Kind, responseError: rd_kafka_resp_err_t, context: String) {
        let name = String(cString: rd_kafka_err2name(responseError))
        let text = String(cString: rd_kafka_err2str(responseError))
        self.init(kind: kind, code: responseError.rawValue, codeName: name, message: "\(context): \(text)")
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(kind: Kind, consuming error: OpaquePointer, context: String) {
        let code = rd_kafka_error_code(error)
        let name = String(cString: rd_kafka_error_name(error))
        let text = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        self.init(kind: kind, code: code.rawValue, codeName: name, message: "\(context): \(text)")
    }

    public var description: String {
        codeName.isEmpty ? message : "\(message) [\(codeName)]"
    }

    /// True when the error is a partition-level condition that resolves itself (leader change, etc.).
    public var isRetriable: Bool {
        let retriable: Set<Int32> = [
            RD_KAFKA_RESP_ERR__TRANSPORT.rawValue, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue,
            RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS.rawValue, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue,
        ]
        return retriable.contains(code)
    }

    /// True when the broker does not implement the request at all (librdkafka found no version of
    /// it in the broker's ApiVersions), as librdkafka 2.0.2's embedded broker answers DescribeConfigs.
    public var isUnsupportedByBroker: Bool {
        [RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE.rawValue, RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION.rawValue].contains(code)
    }
}
