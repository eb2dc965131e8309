import ArgumentParser
import Doctor
import Foundation
import Relay

/// `currents-relay doctor`: wires the live Kafka and mParticle access to `Doctor` and prints its
/// report. What is checked and what each answer means is decided in the `Doctor` target.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that the Kafka cluster, mParticle inputs and Schema Registry a configuration points at work.",
        discussion: """
        One line per check: what, ✓ passed, ! warning, ✗ failed (with the cause and the fix), – not checked. \
        Exit 0 when nothing failed, 1 when a check failed, 2 when the file itself is invalid. Sends no data: \
        each mParticle input gets an empty request ([]), and Kafka is only read.
        """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Flag(name: .long, help: "Print one JSON document (each check's name, ok, status, detail and fix) instead of lines.")
    var json = false

    @Option(name: .long, help: "How long the whole run may take (e.g. 10s, 500ms).")
    var timeout = "10s"

    /// librdkafka's own lines repeat what the report says, per broker: quiet unless asked for.
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard let duration = DurationText.parse(timeout), duration > .zero else {
            throw ValidationError("--timeout: expected a duration such as 10s or 500ms, found \"\(timeout)\"")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(defaultLevel: .critical)
        let configuration = try await ConfigLoader.load(path: config)
        for warning in configuration.warnings {
            printError("warning: \(warning)")
        }
        let timeout = DurationText.parse(timeout) ?? .seconds(10)
        let mparticle = LiveCredentialProbe(userAgent: "currents-relay/\(RelayVersion.current) (\(configuration.name))", timeout: timeout,
                                            verifyCertificates: !configuration.mparticle.insecureSkipTLSVerify)
        let kafka = LiveKafkaAccess(bootstrapServers: configuration.kafka.bootstrapServers, properties: configuration.kafka.properties,
                                    logger: logger)
        let started = ContinuousClock.now
        let report = await Doctor(configuration: configuration, kafka: kafka, mparticle: mparticle).run(timeout: timeout)
        FileHandle.standardOutput.write(Data((json ? report.json : report.text).utf8))
        // The timeout bounds the command, not just the report: a part still waiting (a broker
        // that never answers, a connection still being made) is left to the process's exit.
        let left = max(.milliseconds(100), started + timeout - .now)
        guard report.unfinished.isEmpty, await mparticle.shutdown(waitingAtMost: left) else {
            Foundation.exit(report.exitStatus)
        }
        if report.exitStatus != 0 {
            throw ExitCode(report.exitStatus)
        }
    }
}
