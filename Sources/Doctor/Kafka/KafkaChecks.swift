import Foundation
import Kafka
import Relay

/// The Kafka part of the run, in the order its lines print: each broker, each source topic, the
/// group's offsets per topic, the dead-letter topic, the retention. What depends on a broker
/// answering is reported as not checked when none does, so one cause makes one failure.
enum KafkaChecks {
    /// The configuration's Kafka side, as the checks need it.
    struct Settings: Sendable {
        var bootstrapServers: String
        var topics: [String]
        var groupID: String
        var deadLetterTopic: String
        var maxAge: Duration
        /// Where a partition without a committed offset starts.
        var autoOffsetReset: String

        init(_ configuration: RelayConfiguration) {
            bootstrapServers = configuration.kafka.bootstrapServers
            topics = configuration.kafka.topics
            groupID = configuration.kafka.groupID
            deadLetterTopic = configuration.deadLetter.topic
            maxAge = configuration.deadLetter.maxAge
            autoOffsetReset = configuration.kafka.properties["auto.offset.reset"] ?? "earliest"
        }

        /// The bootstrap list's addresses, each once, in order.
        var addresses: [String] {
            var seen = Set<String>()
            return bootstrapServers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && seen.insert($0).inserted }
        }
    }

    static func run(access: any KafkaAccess, settings: Settings, deadline: Deadline, log: CheckLog) async {
        // Every bootstrap address at once; then the advertised ones the list does not name.
        log.step("asking each bootstrap address for the cluster's brokers")
        guard let bootstrap = await probe(settings.addresses, access: access, timeout: deadline.share(0.4)) else { return }
        let brokers = BrokerChecks.cluster(bootstrap)
        let named = Set(settings.addresses)
        log.step("trying each broker the cluster advertises")
        guard let advertised = await probe(brokers.map(\.address).filter { !named.contains($0) }, access: access,
                                           timeout: deadline.share(0.5)) else { return }
        log.add(contentsOf: BrokerChecks.evaluate(bootstrap: bootstrap, advertised: advertised))
        guard !brokers.isEmpty else {
            log.add(.skipped("kafka topics, group and dead-letter topic", "not checked: no Kafka broker answered"))
            return
        }

        log.step("listing the cluster's topics")
        guard let listed = await BlockingWork.run({ Result { try access.topicNames(timeout: deadline.remaining) } }) else { return }
        let existing: [String]
        switch listed {
        case .success(let names):
            existing = names
        case .failure(let error):
            log.add(.failed("kafka topics", "cannot list the cluster's topics: \(error)",
                            fix: "grant the principal Describe on the cluster's topics (ACLs), or check kafka.properties' security settings"))
            log.add(.skipped("kafka group and dead-letter topic", "not checked: the topics could not be listed"))
            return
        }
        let subscriptions = TopicSubscription.resolve(settings.topics, existing: existing)
        let sources = TopicSubscription.topics(subscriptions)
        let deadLetterExists = existing.contains(settings.deadLetterTopic)

        log.step("reading partition counts")
        let counted = sources + (deadLetterExists && !sources.contains(settings.deadLetterTopic) ? [settings.deadLetterTopic] : [])
        guard let partitions = await BlockingWork.run({
            Dictionary(uniqueKeysWithValues: counted.compactMap { topic in
                (try? access.partitionCount(of: topic, timeout: deadline.remaining)).map { (topic, $0) }
            })
        }) else { return }
        log.add(contentsOf: TopicChecks.evaluate(subscriptions, partitions: partitions))

        for topic in sources {
            log.step("reading the group's committed offsets on \(topic)")
            guard let offsets = await BlockingWork.run({
                Result { try access.groupOffsets(group: settings.groupID, topics: [topic], timeout: deadline.remaining) }
                    .mapError { $0 as any Error }
            }) else { return }
            log.add(GroupChecks.evaluate(group: settings.groupID, topic: topic, offsets: offsets, autoOffsetReset: settings.autoOffsetReset))
        }

        log.add(DeadLetterTopicCheck.evaluate(topic: settings.deadLetterTopic, exists: deadLetterExists,
                                              partitions: partitions[settings.deadLetterTopic], sources: sources))

        log.step("reading the topics' retention")
        let deadLetterTopic = settings.deadLetterTopic
        guard let retention = await BlockingWork.run({ () -> (deadLetter: TopicRetention?, sources: [TopicRetention]) in
            (deadLetterExists ? access.retention(of: deadLetterTopic, timeout: deadline.remaining) : nil,
             sources.map { access.retention(of: $0, timeout: deadline.remaining) })
        }) else { return }
        log.add(RetentionCheck.evaluate(maxAge: settings.maxAge, deadLetter: retention.deadLetter.map { (deadLetterTopic, $0) },
                                        sources: Array(zip(sources, retention.sources)).map { (topic: $0.0, retention: $0.1) }))
    }

    /// Tries each address on its own, all at once; nil when the run's deadline cut it short.
    static func probe(_ addresses: [String], access: any KafkaAccess, timeout: Duration) async -> [BrokerProbe]? {
        await withTaskGroup(of: (Int, BrokerProbe?).self) { group in
            for (index, address) in addresses.enumerated() {
                group.addTask {
                    let result = await BlockingWork.run { access.brokers(at: address, timeout: timeout) }
                    return (index, result.map { BrokerProbe(address: address, result: $0) })
                }
            }
            var probes = [BrokerProbe?](repeating: nil, count: addresses.count)
            for await (index, probe) in group { probes[index] = probe }
            let done = probes.compactMap { $0 }
            return done.count == addresses.count ? done : nil
        }
    }
}
