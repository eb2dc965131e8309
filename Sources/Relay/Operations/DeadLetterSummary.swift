import Kafka

/// What `dlq inspect` reports about the dead-letter topic: counts by reason, feed and age of
/// parking, and the oldest and newest parked records. Pure: fed one record at a time.
public struct DeadLetterSummary: Sendable, Equatable {
    public struct Parked: Sendable, Equatable {
        public var partition: TopicPartition
        public var offset: Int64
        public var parkedMs: Int64
    }

    /// Age buckets of parked records, by time since parking.
    public static let ageBuckets: [(label: String, upToMs: Int64)] = [
        ("< 1h", 3_600_000), ("1h-24h", 86_400_000), ("1d-7d", 7 * 86_400_000), ("7d-30d", 30 * 86_400_000), (">= 30d", .max),
    ]

    public var total = 0
    public var byReason: [String: Int] = [:]
    public var byFeed: [String: Int] = [:]
    public var byAge: [String: Int] = [:]
    /// Records without our headers (written by something else).
    public var foreign = 0
    /// Records parked without their source record (`currents.relay.original: gone`): their value
    /// is the event's mParticle batch.
    public var withoutOriginal = 0
    public var oldest: Parked?
    public var newest: Parked?

    public init() {}

    public mutating func add(_ message: KafkaMessage, nowMs: Int64) {
        total += 1
        guard let reason = message.header(DeadLetterHeaders.reasonHeader)?.stringValue else {
            foreign += 1
            byReason["(no reason header)", default: 0] += 1
            return
        }
        byReason[reason, default: 0] += 1
        if message.header(DeadLetterHeaders.originalHeader)?.stringValue == "gone" { withoutOriginal += 1 }
        byFeed[message.header(DeadLetterHeaders.feedHeader)?.stringValue ?? "none", default: 0] += 1
        let parkedMs = Int64(message.header(DeadLetterHeaders.parkedHeader)?.stringValue ?? "") ?? message.timestampMs ?? nowMs
        let age = max(0, nowMs - parkedMs)
        let bucket = Self.ageBuckets.first { age < $0.upToMs }?.label ?? ">= 30d"
        byAge[bucket, default: 0] += 1
        let parked = Parked(partition: message.topicPartition, offset: message.offset, parkedMs: parkedMs)
        if oldest == nil || parkedMs < oldest!.parkedMs { oldest = parked }
        if newest == nil || parkedMs > newest!.parkedMs { newest = parked }
    }

    public func render(topic: String) -> String {
        var lines = ["dead-letter topic \(topic): \(total) record(s)"]
        func section(_ title: String, _ counts: [String: Int], order: [String]? = nil) {
            guard !counts.isEmpty else { return }
            lines.append(title)
            let keys = order.map { $0.filter { counts[$0] != nil } } ?? counts.keys.sorted()
            for key in keys { lines.append("  \(key.padding(toLength: 22, withPad: " ", startingAt: 0))\(counts[key]!)") }
        }
        section("by reason:", byReason)
        section("by feed:", byFeed)
        section("by age (since parked):", byAge, order: Self.ageBuckets.map(\.label))
        if let oldest { lines.append("oldest: \(TimeArgument.format(oldest.parkedMs)) (\(oldest.partition)@\(oldest.offset))") }
        if let newest { lines.append("newest: \(TimeArgument.format(newest.parkedMs)) (\(newest.partition)@\(newest.offset))") }
        if withoutOriginal > 0 {
            lines.append("\(withoutOriginal) record(s) were parked without their source record, gone from Kafka by then (header currents.relay.original=gone): their value is the event's mParticle batch, which dlq redrive sends as it is")
        }
        if foreign > 0 { lines.append("\(foreign) record(s) carry no currents.relay.reason header (not written by currents-relay)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One record for `--show`: coordinates, headers (values of secret-looking names redacted),
    /// and the start of the value.
    public static func describe(_ message: KafkaMessage, valueLimit: Int = 500) -> String {
        var lines = ["--- \(message.topicPartition)@\(message.offset)"]
        for header in message.headers {
            let lowered = header.key.lowercased()
            let secret = ["secret", "password", "token", "authorization", "credential"].contains { lowered.contains($0) }
            let value = secret ? "[redacted]" : (header.stringValue ?? "<\(header.value?.count ?? 0) bytes>")
            lines.append("  \(header.key): \(value.replacingOccurrences(of: "\n", with: "\n    "))")
        }
        if let key = message.key { lines.append("  key: \(String(decoding: key.prefix(200), as: UTF8.self))") }
        let value = message.value.map { String(decoding: $0.prefix(valueLimit), as: UTF8.self) } ?? "<null>"
        let more = (message.value?.count ?? 0) > valueLimit ? " … (\(message.value!.count) bytes)" : ""
        lines.append("  value: \(value)\(more)")
        return lines.joined(separator: "\n")
    }
}
