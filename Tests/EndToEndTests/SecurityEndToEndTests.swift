import Currents
import Foundation
import Kafka
import MParticleSimulator
import Relay
import Testing

/// Transport and file hygiene: TLS verification against a simulator serving HTTPS with a
/// self-signed certificate, the localhost-only opt-out, and the warning for a config file with
/// secrets that others can read.
@Suite(.timeLimit(.minutes(10))) struct SecurityEndToEndTests {
    /// A self-signed certificate for localhost and 127.0.0.1, made with the openssl command.
    static func selfSignedCertificate() throws -> (certificate: String, key: String) {
        let directory = try ScratchDirectory.directory("tls")
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl could not make a certificate")
        return (certificate, key)
    }

    @Test func certificatesAreVerifiedUnlessTurnedOffLoudlyForLocalhost() async throws {
        let harness = try await Harness.start(brokers: 1, partitions: 2)
        let tls = try Self.selfSignedCertificate()
        let simulator = try await SimulatorServer.start(SimulatorConfiguration(
            feeds: SimulatorConfiguration.demoFeeds, tls: SimulatorTLS(certificatePath: tls.certificate, privateKeyPath: tls.key)))
        #expect(simulator.baseURL.hasPrefix("https://127.0.0.1:"))
        let records = SampleEvents(seed: 21, anonymousPercent: 0).records(count: 40)
        try await harness.seed(records)
        let expected = Set(records.map(\.id))

        // Verification on (the default): the self-signed certificate is refused, nothing is sent,
        // nothing is committed, and the log says why.
        let verifying = try relayConfigFile(harness, group: "e2e-tls")
        let yaml = try String(contentsOfFile: verifying, encoding: .utf8).replacingOccurrences(of: harness.simulator.baseURL, with: simulator.baseURL)
        try yaml.write(toFile: verifying, atomically: true, encoding: .utf8)
        let log = verifying + ".log"
        let relay = try spawnRelay(config: verifying, log: log, logLevel: "debug")
        let refused = try await harness.waitUntil("a TLS failure in the log") {
            (try? String(contentsOfFile: log, encoding: .utf8))?.contains("CERTIFICATE_VERIFY_FAILED") == true
        }
        #expect(refused, "\((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(1500) ?? "")")
        try await Task.sleep(for: .seconds(2))
        #expect(simulator.state.totalAcceptedEvents == 0)
        relay.terminate()
        relay.waitUntilExit()
        #expect(try harness.committed(group: "e2e-tls").values.allSatisfy { ($0 ?? 0) == 0 }, "nothing committed past unsent events")

        // Opted out for localhost: delivered, with a loud warning at start.
        let insecure = verifying + ".insecure.yaml"
        try yaml.replacingOccurrences(of: "  base_url: \"\(simulator.baseURL)\"", with: "  base_url: \"\(simulator.baseURL)\"\n  insecure_skip_tls_verify: true")
            .write(toFile: insecure, atomically: true, encoding: .utf8)
        let insecureLog = insecure + ".log"
        let second = try spawnRelay(config: insecure, log: insecureLog, logLevel: "info")
        try await harness.waitUntil("every event over HTTPS") {
            expected.isSubset(of: Set(simulator.state.acceptedEvents.compactMap(\.sourceMessageID)))
        }
        second.terminate()
        second.waitUntilExit()
        let text = try String(contentsOfFile: insecureLog, encoding: .utf8)
        #expect(text.contains("TLS CERTIFICATE VERIFICATION IS OFF"))
        let check = try runCLI(["check-config", "--config", insecure])
        #expect(check.status == 0)
        #expect(check.errors.contains("warning: TLS CERTIFICATE VERIFICATION IS OFF"))
        #expect(check.output.contains("insecure_skip_tls_verify: true"))

        // The opt-out is refused for any other host.
        let remote = insecure + ".remote.yaml"
        try yaml.replacingOccurrences(of: "  base_url: \"\(simulator.baseURL)\"", with: "  base_url: \"https://s2s.mparticle.com\"\n  insecure_skip_tls_verify: true")
            .write(toFile: remote, atomically: true, encoding: .utf8)
        for command in ["check-config", "run"] {
            let outcome = try runCLI([command, "--config", remote])
            #expect(outcome.status == 2, "\(command)")
            #expect(outcome.errors.contains("mparticle.insecure_skip_tls_verify: only allowed for a simulator on this machine"), "\(command): \(outcome.errors.suffix(400))")
        }
        await simulator.stop()
        await harness.stop()
    }

    @Test func aConfigFileWithSecretsThatOthersCanReadIsWarnedAbout() throws {
        let directory = ScratchDirectory.url
        let withSecret = directory.appendingPathComponent("perm-\(UUID().uuidString).yaml").path
        try "mparticle:\n  feeds:\n    ios: { key: \"k\", secret: \"perm-S3CRET-1\" }\nkafka:\n  properties:\n    sasl.password: \"perm-S3CRET-2\"\n"
            .write(toFile: withSecret, atomically: true, encoding: .utf8)
        let withoutSecret = directory.appendingPathComponent("perm-\(UUID().uuidString).yaml").path
        try "mparticle:\n  feeds:\n    ios: { key: \"k\" }\n".write(toFile: withoutSecret, atomically: true, encoding: .utf8)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: withSecret)
        let open = try runCLI(["check-config", "--config", withSecret])
        #expect(open.status == 0)
        #expect(open.errors.contains("warning: config file \(withSecret) holds secrets (kafka.properties.sasl.password, mparticle.feeds.ios.secret) and can be read by its group and every user (mode 644): run chmod 600"))
        #expect(!open.errors.contains("perm-S3CRET") && !open.output.contains("perm-S3CRET"))

        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: withSecret)
        #expect(try runCLI(["check-config", "--config", withSecret]).errors.contains("can be read by its group (mode 640)"))

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: withSecret)
        let closed = try runCLI(["check-config", "--config", withSecret])
        #expect(closed.status == 0)
        #expect(!closed.errors.contains("warning"))

        // The secret comes from the environment: a readable file holds nothing to protect.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: withoutSecret)
        let fromEnvironment = try runCLI(["check-config", "--config", withoutSecret], environment: ["CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_SECRET": "env-S3CRET"])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.errors)")
        #expect(!fromEnvironment.errors.contains("warning"))
        #expect(!fromEnvironment.output.contains("env-S3CRET"))
    }
}
