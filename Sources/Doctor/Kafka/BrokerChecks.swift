import Kafka

/// The brokers' lines: whether each broker the cluster advertises answers with the configured
/// security settings, and each bootstrap address that is not one of them, naming the one that
/// fails with librdkafka's reason.
enum BrokerChecks {
    /// The cluster's brokers, as the first bootstrap address that answered reported them; empty
    /// when none answered.
    static func cluster(_ bootstrap: [BrokerProbe]) -> [KafkaBroker] {
        bootstrap.lazy.compactMap(\.brokers).first ?? []
    }

    /// - Parameters:
    ///   - bootstrap: Each address of `kafka.bootstrap_servers`, tried on its own, in its order.
    ///   - advertised: Each address the cluster advertises that is not in the bootstrap list.
    static func evaluate(bootstrap: [BrokerProbe], advertised: [BrokerProbe]) -> [DoctorCheck] {
        let brokers = cluster(bootstrap)
        guard !brokers.isEmpty else {
            return bootstrap.map { probe in
                let error = probe.failure ?? KafkaError(kind: .client, message: "no answer")
                return .failed("kafka bootstrap \(probe.address)", error.message, fix: fix(for: error, address: probe.address))
            }
        }
        let probes = Dictionary((bootstrap + advertised).map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        var checks: [DoctorCheck] = brokers.map { broker in
            let name = "kafka broker \(broker.id) (\(broker.address))"
            guard let probe = probes[broker.address] else { return .skipped(name, "not tried") }
            if let error = probe.failure {
                return .failed(name, error.message, fix: fix(for: error, address: broker.address))
            }
            return .passed(name, "answers with the configured security settings")
        }
        let advertisedAddresses = Set(brokers.map(\.address))
        for probe in bootstrap where !advertisedAddresses.contains(probe.address) {
            let name = "kafka bootstrap \(probe.address)"
            if let error = probe.failure {
                checks.append(.warning(name, "\(error.message) (another bootstrap address answered)",
                                       fix: "remove it from kafka.bootstrap_servers, or " + fix(for: error, address: probe.address)))
            } else {
                checks.append(.passed(name, "answers; the cluster advertises \(brokers.count) broker\(brokers.count == 1 ? "" : "s")"))
            }
        }
        return checks
    }

    /// What to do about a broker that does not answer, by librdkafka's error.
    static func fix(for error: KafkaError, address: String) -> String {
        switch error.codeName {
        case "_AUTHENTICATION", "SASL_AUTHENTICATION_FAILED":
            "check sasl.mechanism, sasl.username and sasl.password under kafka.properties (CURRENTS_RELAY_KAFKA_PROPERTIES_SASL_PASSWORD): an expired password fails this way"
        case "_SSL":
            "check security.protocol and ssl.* under kafka.properties (ssl.ca.location for a private CA), and that \(address) is the broker's TLS listener"
        case "_RESOLVE":
            "correct the host name, or give the broker an advertised listener this machine can resolve"
        case "_BAD_MSG":
            "check that \(address) is a Kafka listener (something else answered, an HTTP proxy or another service) and that security.protocol matches it"
        case "_TIMED_OUT":
            "check the network path to \(address) (firewall, security group) and security.protocol: a TLS or SASL listener does not answer a plaintext client"
        default:
            "check that \(address) is right and reachable from here (kcat -L -b \(address)); a broker that advertises an address only its own network knows needs an advertised listener for clients"
        }
    }
}
