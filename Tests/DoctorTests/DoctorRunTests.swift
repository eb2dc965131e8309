import Dispatch
import Doctor
import Kafka
import MParticle
import Relay
import Testing

/// The whole run with fakes: every check passes when everything is right, and each broken thing
/// fails its own line, with its cause, and nothing else.
@Suite(.timeLimit(.minutes(10))) struct DoctorRunTests {
    func run(_ kafka: FakeKafka = FakeKafka(), _ mparticle: FakeMParticle = FakeMParticle(),
             configure: (inout RelayConfiguration) -> Void = { _ in }, timeout: Duration = fakeRunTimeout) async -> DoctorReport {
        var configuration = goodConfiguration()
        configure(&configuration)
        return await Doctor(configuration: configuration, kafka: kafka, mparticle: mparticle).run(timeout: timeout)
    }

    @Test func everythingRightPassesEveryCheckAndExitsZero() async {
        let report = await run()
        #expect(report.exitStatus == 0, "\(report.text)")
        #expect(report.checks.map(\.name) == [
            "kafka broker 1 (b1:9092)", "kafka broker 2 (b2:9092)", "kafka topic braze.currents",
            "kafka group relay on braze.currents", "kafka dead-letter topic braze.currents.dlq", "kafka retention",
            "mparticle host https://s2s.eu1.mparticle.com", "mparticle input ios", "mparticle input android",
            "mparticle input unbound", "schema registry",
        ])
        #expect(report.checks.allSatisfy { $0.status == .passed || $0.name == "schema registry" }, "\(report.text)")
        #expect(report.checks.named("schema registry")?.status == .skipped)
        #expect(report.checks.named("kafka topic braze.currents")?.detail == "6 partitions")
        #expect(report.unfinished.isEmpty)
    }

    /// Each broken thing: exactly one failed line, the expected one, with its cause.
    @Test func eachBrokenThingFailsItsOwnLineAndNothingElse() async {
        let cases: [(what: String, kafka: FakeKafka, mparticle: FakeMParticle, configure: (inout RelayConfiguration) -> Void,
                     line: String, cause: String)] = [
            ("a wrong secret", FakeKafka(),
             FakeMParticle(["ios-key-1234": .answered(status: 403, roundTrip: .milliseconds(40), rateLimitPercentageUsed: nil)]), { _ in },
             "mparticle input ios", "credentials refused (403"),
            ("a missing topic", FakeKafka(), FakeMParticle(), { $0.kafka.topics = ["braze.currents.v2"] },
             "kafka topic braze.currents.v2", "does not exist"),
            ("a missing dead-letter topic", FakeKafka(), FakeMParticle(), { $0.deadLetter.topic = "parked" },
             "kafka dead-letter topic parked", "does not exist"),
            ("an unreachable mParticle host", FakeKafka(), FakeMParticle(otherwise: .unreachable(TransportFailure(.refused, "refused"))), { _ in },
             "mparticle host https://s2s.eu1.mparticle.com", "connection refused at s2s.eu1.mparticle.com:443"),
            ("a broker that refuses", FakeKafka(refusing: ["b2:9092": FakeKafka.refused("b2:9092")]), FakeMParticle(), { _ in },
             "kafka broker 2 (b2:9092)", "Connection refused"),
            ("offsets that cannot be read", FakeKafka(offsetsFail: KafkaError(kind: .client, codeName: "GROUP_AUTHORIZATION_FAILED", message: "Broker: Group authorization failed")),
             FakeMParticle(), { _ in }, "kafka group relay on braze.currents", "Group authorization failed"),
        ]
        for broken in cases {
            let report = await run(broken.kafka, broken.mparticle, configure: broken.configure)
            #expect(report.exitStatus == 1, "\(broken.what)")
            #expect(report.failures.map(\.name) == [broken.line], "\(broken.what):\n\(report.text)")
            #expect(report.failures.first?.detail.contains(broken.cause) == true, "\(broken.what):\n\(report.text)")
            #expect(report.failures.first?.fix?.isEmpty == false, "\(broken.what): a failure says what to do")
            #expect(report.checks.allSatisfy { $0.status != .warning }, "\(broken.what):\n\(report.text)")
        }
    }

    /// No broker answers: one line per bootstrap address with its reason, and the checks that
    /// need a broker are not checked (not failed once more each).
    @Test func noBrokerAnsweringFailsEachAddressOnceAndSkipsWhatNeedsOne() async {
        let kafka = FakeKafka(refusing: ["b1:9092": FakeKafka.refused("b1:9092"), "b2:9092": FakeKafka.refused("b2:9092")])
        let report = await run(kafka)
        #expect(report.failures.map(\.name) == ["kafka bootstrap b1:9092", "kafka bootstrap b2:9092"], "\(report.text)")
        #expect(report.failures.allSatisfy { $0.detail.contains("Connection refused") })
        #expect(report.checks.named("kafka topics, group and dead-letter topic")?.status == .skipped)
        #expect(report.checks.named("mparticle input ios")?.status == .passed, "mParticle is checked all the same")
    }

    /// The timeout bounds the run: a part still waiting reports what it found and where it waits.
    @Test func theTimeoutBoundsTheRunAndSaysWhereItWaited() async {
        let hang = DispatchSemaphore(value: 0)
        // The listing of the topics returns only once this is signalled, after the run returned:
        // that the run returns at all is the bound. How soon is held loosely (the end-to-end test,
        // in a process of its own, holds it to a second): the suites sharing this process have
        // held both of its task threads for over 20 s.
        let report = await run(FakeKafka(hang: hang), timeout: .seconds(5))
        hang.signal()
        #expect(report.elapsed >= .seconds(5), "it waited for the deadline, not less")
        #expect(report.elapsed < .seconds(40), "took \(report.elapsed)")
        #expect(report.unfinished.contains("kafka"))
        #expect(report.checks.named("kafka broker 1 (b1:9092)")?.status == .passed, "what was found before stays")
        let timedOut = report.checks.named("kafka")
        #expect(timedOut?.status == .failed)
        #expect(timedOut?.detail == "no answer within 5 s while listing the cluster's topics", "\(report.text)")
        #expect(report.exitStatus == 1)
    }

    /// Secrets never reach the report, in either form, whatever the answer.
    @Test func secretsNeverAppear() async {
        for status in [202, 401, 403] {
            let outcome = CredentialProbeOutcome.answered(status: status, roundTrip: .milliseconds(3), rateLimitPercentageUsed: nil)
            let report = await run(FakeKafka(), FakeMParticle(otherwise: outcome))
            for text in [report.text, report.json] {
                #expect(!text.contains("S3CRET"), "\(status)")
                #expect(!text.contains("ios-key-1234"), "only the key's first characters")
            }
        }
    }
}
