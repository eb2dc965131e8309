import Foundation

/// The parts of librdkafka's statistics report (`statistics.interval.ms`) the relay exposes:
/// per-partition consumer lag and whether any broker connection is up.
public struct KafkaStatistics: Sendable, Equatable {
    /// High watermark minus the stored (else committed) offset, for partitions being fetched.
    public var lag: [TopicPartition: Int64]
    /// Brokers (not bootstrap placeholders) whose connection state is `UP`.
    public var brokersUp: Int

    public init(lag: [TopicPartition: Int64] = [:], brokersUp: Int = 0) {
        self.lag = lag
        self.brokersUp = brokersUp
    }

    /// Reads a statistics JSON document; nil when it is not one.
    public static func parse(_ json: [UInt8]) -> KafkaStatistics? {
        guard let root = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any] else { return nil }
        var statistics = KafkaStatistics()
        for case let broker as [String: Any] in (root["brokers"] as? [String: Any] ?? [:]).values {
            if (broker["nodeid"] as? Int ?? -1) >= 0, broker["state"] as? String == "UP" { statistics.brokersUp += 1 }
        }
        for (topic, value) in root["topics"] as? [String: Any] ?? [:] {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for case let partition as [String: Any] in partitions.values {
                guard let id = partition["partition"] as? Int, id >= 0 else { continue }
                let state = partition["fetch_state"] as? String ?? ""
                guard !["none", "stopping", "stopped"].contains(state) else { continue }
                let lag = (partition["consumer_lag_stored"] as? Int).flatMap { $0 >= 0 ? $0 : nil }
                    ?? (partition["consumer_lag"] as? Int).flatMap { $0 >= 0 ? $0 : nil }
                if let lag { statistics.lag[TopicPartition(topic, Int32(id))] = Int64(lag) }
            }
        }
        return statistics
    }
}
