import Currents
import Foundation
import MParticleSimulator
import Testing

/// `currents-relay doctor` as a user runs it, against the embedded broker and the simulator: every
/// check passes with everything right, and each broken thing fails its own line, with its cause,
/// while nothing else fails.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DoctorEndToEndTests {
    /// Runs `doctor` to its end on a thread of its own. `runCLI` blocks its caller until the
    /// process exits, and the simulator that `doctor` asks answers on the tasks of this very
    /// process: blocking one of the two threads those run on, while other suites block the other,
    /// left the simulator unable to answer before `doctor` gave up.
    ///
    /// Runs other than the timeout's own get a long `--timeout`, for the same reason: `doctor`
    /// returns as soon as everything answered.
    func doctor(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandLineTests.Outcome {
        try await timedDoctor(arguments, environment: environment).outcome
    }

    /// `doctor`, and how long the process ran (timed on the thread that waits for it).
    func timedDoctor(_ arguments: [String], environment: [String: String] = [:]) async throws -> (outcome: CommandLineTests.Outcome, elapsed: Duration) {
        let result: Result<(CommandLineTests.Outcome, Duration), any Error> = await withCheckedContinuation { continuation in
            Thread {
                let started = ContinuousClock.now
                let outcome = Result { try runCLI(["doctor"] + arguments, environment: environment) }
                continuation.resume(returning: outcome.map { ($0, ContinuousClock.now - started) })
            }.start()
        }
        let (outcome, elapsed) = try result.get()
        return (outcome, elapsed)
    }

    /// The report's lines, without the count at the end.
    func lines(_ output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { $0.contains("  ✓  ") || $0.contains("  ✗  ") || $0.contains("  !  ") || $0.contains("  –  ") }
    }

    func failed(_ output: String) -> [String] { lines(output).filter { $0.contains("  ✗  ") } }

    /// A URL where nothing listens: a simulator's port, from the OS, once the simulator has stopped.
    func closedURL() async throws -> String {
        let simulator = try await SimulatorServer.start(SimulatorConfiguration(feeds: []))
        let url = simulator.baseURL
        await simulator.stop()
        return url
    }

    @Test func everythingRightPassesAndEachBrokenThingFailsOnItsOwnLine() async throws {
        let harness = try await Harness.start(brokers: 3, partitions: 6)
        try await harness.seed(SampleEvents(seed: 40, anonymousPercent: 0).records(count: 20))
        var behaviour = SimulatorState.Behaviour()
        behaviour.rateLimitPercentageUsed = 12
        harness.simulator.state.setBehaviour(behaviour)
        let config = try relayConfigFile(harness, group: "e2e-doctor")

        let good = try await doctor(["--config", config, "--timeout", "120s"])
        #expect(good.status == 0, "\(good.output)\(good.errors)")
        let report = lines(good.output)
        #expect(failed(good.output).isEmpty, "\(good.output)")
        for id in 1...3 {
            #expect(report.contains { $0.hasPrefix("kafka broker \(id) (127.0.0.1:") && $0.contains("  ✓  answers") }, "\(good.output)")
        }
        let expected: [(String, String)] = [
            ("kafka topic braze.currents ", "  ✓  6 partitions"),
            ("kafka group e2e-doctor on braze.currents ", "  ✓  no committed offsets yet: a first run starts at the earliest record (auto.offset.reset), 20 records behind"),
            ("kafka dead-letter topic braze.currents.dlq ", "  ✓  1 partition"),
            ("kafka retention ", "  –  unknown, not compared with dead_letter.max_age (48 h): the cluster names broker 0 as its controller"),
            ("mparticle host \(harness.simulator.baseURL) ", "  ✓  answers over plain HTTP (no TLS)"),
            ("mparticle input ios ", "  ✓  credentials accepted (202 in "),
            ("mparticle input unbound ", "; rate limit 12 % used)"),
            ("schema registry ", "  –  not configured"),
        ]
        for (name, text) in expected {
            #expect(report.contains { $0.hasPrefix(name) && $0.contains(text) }, "\(name): \(good.output)")
        }
        #expect(good.output.split(separator: "\n").last?.hasPrefix("13 checks: 11 passed, 2 not checked (") == true, "\(good.output)")

        let closed = try await closedURL()
        let closedPort = try #require(URL(string: closed)?.port)
        let tls = try SecurityEndToEndTests.selfSignedCertificate()
        let untrusted = try await SimulatorServer.start(SimulatorConfiguration(
            feeds: SimulatorConfiguration.demoFeeds, tls: SimulatorTLS(certificatePath: tls.certificate, privateKeyPath: tls.key)))
        let broken: [(what: String, environment: [String: String], line: String, cause: String)] = [
            ("a wrong secret", ["CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_SECRET": "not-the-S3CRET"],
             "mparticle input ios ", "credentials refused (403 in "),
            ("a missing topic", ["CURRENTS_RELAY_KAFKA_TOPICS": "braze.currents.v2"],
             "kafka topic braze.currents.v2 ", "does not exist in the cluster"),
            ("a missing dead-letter topic", ["CURRENTS_RELAY_DEAD_LETTER_TOPIC": "nobody.created.this"],
             "kafka dead-letter topic nobody.created.this ", "does not exist"),
            ("an unreachable mParticle host", ["CURRENTS_RELAY_MPARTICLE_BASE_URL": closed],
             "mparticle host \(closed) ", "connection refused at 127.0.0.1:\(closedPort)"),
            ("a certificate this machine does not trust", ["CURRENTS_RELAY_MPARTICLE_BASE_URL": untrusted.baseURL],
             "mparticle host \(untrusted.baseURL) ", "TLS failed, the certificate is not trusted here or does not name 127.0.0.1 (TLS handshake failed: CERTIFICATE_VERIFY_FAILED)"),
            ("a host name that does not resolve", ["CURRENTS_RELAY_MPARTICLE_BASE_URL": "https://s2s.nowhere.invalid"],
             "mparticle host https://s2s.nowhere.invalid ", "the name s2s.nowhere.invalid does not resolve"),
            ("a broker that is not there", ["CURRENTS_RELAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:\(closedPort)"],
             "kafka bootstrap 127.0.0.1:\(closedPort) ", "Connect to ipv4#127.0.0.1:\(closedPort) failed: Connection refused"),
        ]
        for (what, environment, line, cause) in broken {
            let outcome = try await doctor(["--config", config, "--timeout", "120s"], environment: environment)
            #expect(outcome.status == 1, "\(what): \(outcome.output)\(outcome.errors)")
            let failures = failed(outcome.output)
            #expect(failures.count == 1, "\(what): one failure, not \(failures.count):\n\(outcome.output)")
            #expect(failures.first.map { $0.hasPrefix(line) && $0.contains(cause) } == true, "\(what):\n\(outcome.output)")
            #expect(!outcome.output.contains("S3CRET") && !outcome.errors.contains("S3CRET"), "\(what): a secret in the output")
        }
        await untrusted.stop()
        await harness.stop()
    }

    /// `--json` is one document; the timeout bounds the command, and the report says where it
    /// was waiting.
    @Test func jsonIsOneDocumentAndTheTimeoutBoundsTheCommand() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 2)
        let config = try relayConfigFile(harness, group: "e2e-doctor-json")
        let outcome = try await doctor(["--config", config, "--json", "--timeout", "120s"], environment: ["CURRENTS_RELAY_MPARTICLE_FEEDS_WEB_SECRET": "wrong"])
        #expect(outcome.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any], "\(outcome.output)")
        #expect(document["ok"] as? Bool == false)
        let checks = try #require(document["checks"] as? [[String: Any]])
        let refused = checks.filter { $0["ok"] as? Bool == false }
        #expect(refused.map { $0["name"] as? String } == ["mparticle input web"], "\(outcome.output)")
        #expect((refused.first?["fix"] as? String)?.contains("CURRENTS_RELAY_MPARTICLE_FEEDS_WEB_SECRET") == true)

        let slow = try await SimulatorServer.start(SimulatorConfiguration(feeds: SimulatorConfiguration.demoFeeds, behaviour: .init(latencyMs: 2500)))
        let (bounded, elapsed) = try await timedDoctor(["--config", config, "--timeout", "1s"], environment: ["CURRENTS_RELAY_MPARTICLE_BASE_URL": slow.baseURL])
        #expect(bounded.status == 1)
        #expect(elapsed < scaled(.seconds(3)), "took \(elapsed)")
        #expect(failed(bounded.output).count == 1 && failed(bounded.output).first?.contains("no answer in time") == true, "\(bounded.output)")
        await slow.stop()
        await harness.stop()
    }
}
