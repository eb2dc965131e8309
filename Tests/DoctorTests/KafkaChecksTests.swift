import Kafka
import Relay
import Testing
@testable import Doctor

/// The Kafka lines, one concern each.
@Suite(.timeLimit(.minutes(10))) struct KafkaChecksTests {
    func run(_ kafka: FakeKafka, configure: (inout RelayConfiguration) -> Void = { _ in }) async -> DoctorReport {
        var configuration = goodConfiguration()
        configure(&configuration)
        return await Doctor(configuration: configuration, kafka: kafka, mparticle: FakeMParticle()).run(timeout: fakeRunTimeout)
    }

    /// A bootstrap list that names a load balancer: it answers, and every broker the cluster
    /// advertises is tried on its own (the one this machine cannot reach is named).
    @Test func advertisedBrokersOutsideTheBootstrapListAreTriedEachOnItsOwn() async {
        let kafka = FakeKafka(refusing: ["b2:9092": FakeKafka.refused("b2:9092")])
        let report = await run(kafka) { $0.kafka.bootstrapServers = "kafka.example.com:9092" }
        #expect(report.checks.named("kafka broker 1 (b1:9092)")?.status == .passed)
        #expect(report.checks.named("kafka broker 2 (b2:9092)")?.status == .failed)
        #expect(report.checks.named("kafka bootstrap kafka.example.com:9092")?.detail == "answers; the cluster advertises 2 brokers")
        #expect(report.failures.count == 1, "\(report.text)")
    }

    /// One dead entry in a bootstrap list that otherwise works is worth knowing, not a failure.
    @Test func aDeadBootstrapAliasBesideWorkingOnesIsAWarning() async {
        let kafka = FakeKafka(refusing: ["old:9092": FakeKafka.refused("old:9092")])
        let report = await run(kafka) { $0.kafka.bootstrapServers = "old:9092, b1:9092" }
        #expect(report.exitStatus == 0, "\(report.text)")
        let alias = report.checks.named("kafka bootstrap old:9092")
        #expect(alias?.status == .warning)
        #expect(alias?.fix?.hasPrefix("remove it from kafka.bootstrap_servers") == true)
    }

    @Test func theFixFollowsLibrdkafkasError() {
        func fix(_ codeName: String) -> String {
            BrokerChecks.fix(for: KafkaError(kind: .client, codeName: codeName, message: "x"), address: "b1:9093")
        }
        #expect(fix("_AUTHENTICATION").contains("sasl.password"))
        #expect(fix("SASL_AUTHENTICATION_FAILED").contains("sasl.username"))
        #expect(fix("_SSL").contains("ssl.ca.location"))
        #expect(fix("_RESOLVE").contains("host name"))
        #expect(fix("_BAD_MSG").contains("is a Kafka listener"))
        #expect(fix("_TRANSPORT").contains("kcat -L -b b1:9093"))
    }

    @Test func aRegularExpressionListsWhatItMatchesOrFailsWhenNothing() async {
        let kafka = FakeKafka(topics: ["braze.a": 6, "braze.b": 4, "other": 1, "braze.currents.dlq": 1])
        let report = await run(kafka) { $0.kafka.topics = ["^braze\\.[ab]$", "^nothing.*"] }
        #expect(report.checks.named("kafka topics ^braze\\.[ab]$")?.detail == "matches braze.a (6 partitions), braze.b (4 partitions)")
        #expect(report.checks.named("kafka group relay on braze.a") != nil && report.checks.named("kafka group relay on braze.b") != nil)
        #expect(report.failures.map(\.name) == ["kafka topics ^nothing.*"], "\(report.text)")
        #expect(report.failures.first?.detail.contains("matches no topic") == true)
    }

    /// A source list that takes in the dead-letter topic would read back what the relay parks.
    @Test func theDeadLetterTopicAmongTheSourcesFails() async {
        let report = await run(FakeKafka()) { $0.kafka.topics = ["^braze\\..*"] }
        #expect(report.failures.map(\.name) == ["kafka dead-letter topic braze.currents.dlq"], "\(report.text)")
        #expect(report.failures.first?.detail.contains("is also a source topic") == true)
    }

    @Test func theGroupLineSaysWhereTheGroupStands() throws {
        func detail(_ committed: [Int32: Int64], reset: String = "earliest") throws -> String {
            let fake = FakeKafka(topics: ["t": 3], committed: ["t": committed], end: 100)
            let offsets = try GroupOffsets.read(topics: ["t"], only: nil, lookup: FakeKafka.Lookup(fake: fake))
            return GroupChecks.evaluate(group: "g", topic: "t", offsets: .success(offsets), autoOffsetReset: reset).detail
        }
        #expect(try detail([:]) == "no committed offsets yet: a first run starts at the earliest record (auto.offset.reset), 300 records behind")
        #expect(try detail([:], reset: "latest") == "no committed offsets yet: a first run starts at the end of the log (auto.offset.reset), past the 300 records there")
        #expect(try detail([0: 100, 1: 100, 2: 99]) == "committed on 3 of 3 partitions; lag 1 record")
        #expect(try detail([0: 90]) == "committed on 1 of 3 partitions (the others start at the earliest record); lag 210 records")
    }

    @Test func retentionShorterThanTheAgeLimitWarns() {
        let day: Int64 = 86_400_000
        let maxAge = Duration.seconds(48 * 3600)
        let fine = RetentionCheck.evaluate(maxAge: maxAge, deadLetter: ("dlq", .milliseconds(14 * day)),
                                           sources: [("src", .unlimited)])
        #expect(fine.status == .passed)
        #expect(fine.detail == "dlq 14 d, src unlimited against dead_letter.max_age 48 h")

        let shortDeadLetter = RetentionCheck.evaluate(maxAge: maxAge, deadLetter: ("dlq", .milliseconds(day)), sources: [("src", .milliseconds(7 * day))])
        #expect(shortDeadLetter.status == .warning)
        #expect(shortDeadLetter.detail.contains("the dead-letter topic keeps records 24 h, less than dead_letter.max_age"))
        #expect(shortDeadLetter.fix?.contains("raise retention.ms of dlq") == true)

        let shortSource = RetentionCheck.evaluate(maxAge: maxAge, deadLetter: ("dlq", .milliseconds(7 * day)), sources: [("src", .milliseconds(12 * 3_600_000))])
        #expect(shortSource.status == .warning)
        #expect(shortSource.detail.contains("src keeps records less than dead_letter.max_age"))
        #expect(shortSource.detail.contains("currents.relay.original: gone"))

        let unknown = RetentionCheck.evaluate(maxAge: maxAge, deadLetter: ("dlq", .unknown("no DescribeConfigs here")), sources: [("src", .unknown("no DescribeConfigs here"))])
        #expect(unknown.status == .skipped)
        #expect(unknown.detail == "unknown, not compared with dead_letter.max_age (48 h): no DescribeConfigs here")
    }

    /// The retention a run reports comes from the topics' own, the dead-letter topic's included.
    @Test func theRunComparesEachTopicsRetention() async {
        let kafka = FakeKafka(retention: ["braze.currents": .milliseconds(3_600_000)])
        let report = await run(kafka)
        #expect(report.checks.named("kafka retention")?.status == .warning, "\(report.text)")
        #expect(report.exitStatus == 0, "a warning does not fail the run")
    }

    @Test func retentionIsReadFromTheTopicsConfiguration() {
        #expect(TopicRetention(configuration: ["retention.ms": "604800000", "cleanup.policy": "delete"]) == .milliseconds(604_800_000))
        #expect(TopicRetention(configuration: ["retention.ms": "-1"]) == .unlimited)
        #expect(TopicRetention(configuration: [:]) == .unknown("the brokers reported no retention.ms"))
    }

    @Test func spansReadAsPeopleWriteThem() {
        #expect(ReadableDuration.span(milliseconds: 48 * 3_600_000) == "48 h")
        #expect(ReadableDuration.span(milliseconds: 7 * 86_400_000) == "7 d")
        #expect(ReadableDuration.span(milliseconds: 90 * 60_000) == "1.5 h")
        #expect(ReadableDuration.span(milliseconds: 500) == "500 ms")
    }

    @Test func bootstrapAddressesAreTakenOnceEachInOrder() {
        var configuration = goodConfiguration()
        configuration.kafka.bootstrapServers = " b2:9092,b1:9092 ,b2:9092,, "
        #expect(KafkaChecks.Settings(configuration).addresses == ["b2:9092", "b1:9092"])
    }
}
