import Foundation
import Relay

/// `currents-relay doctor`: checks that what a configuration points at works (the Kafka
/// brokers, topics, group and dead-letter topic; each mParticle input's credentials; the Schema
/// Registry), within a time bound, and reports one line per check.
///
/// `check-config` says whether a file is valid; this says whether it will work, before the first
/// run finds out one failure at a time in its log. The checks are plain functions of what the
/// cluster and mParticle answered; the answers come through `KafkaAccess` and `CredentialProbe`,
/// so tests drive every failure with fakes.
public struct Doctor: Sendable {
    public var configuration: RelayConfiguration
    public var kafka: any KafkaAccess
    public var mparticle: any CredentialProbe
    public var schemaRegistry: any SchemaRegistryCheck

    public init(configuration: RelayConfiguration, kafka: any KafkaAccess, mparticle: any CredentialProbe,
                schemaRegistry: any SchemaRegistryCheck = SchemaRegistryNotConfigured()) {
        self.configuration = configuration
        self.kafka = kafka
        self.mparticle = mparticle
        self.schemaRegistry = schemaRegistry
    }

    /// Runs every check, Kafka, mParticle and the registry at once, and returns by `timeout`
    /// whatever happens: a part still waiting then reports what it found so far, and one failed
    /// line naming what it was waiting for.
    public func run(timeout: Duration) async -> DoctorReport {
        let started = ContinuousClock.now
        let deadline = Deadline(after: timeout, from: started)
        let kafka = self.kafka, mparticle = self.mparticle, registry = self.schemaRegistry
        let settings = KafkaChecks.Settings(configuration)
        let mparticleSettings = configuration.mparticle
        let parts: [Part] = [
            Part(name: "kafka", fix: "check the network path to \(settings.bootstrapServers), or give doctor a longer --timeout") { log in
                await KafkaChecks.run(access: kafka, settings: settings, deadline: deadline, log: log)
            },
            Part(name: "mparticle", fix: "check the network path to \(mparticleSettings.baseURL), or give doctor a longer --timeout") { log in
                await MParticleChecks.run(probe: mparticle, settings: mparticleSettings, log: log)
            },
            Part(name: "schema registry", fix: "check the network path to the registry, or give doctor a longer --timeout") { log in
                log.step("asking the registry for its subjects")
                log.add(await registry.check(timeout: deadline.remaining))
            },
        ]
        let finished = await withTaskGroup(of: Int?.self) { group in
            for (index, part) in parts.enumerated() {
                group.addTask {
                    await part.work(part.log)
                    return index
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline.instant, clock: .continuous)
                return nil
            }
            var finished = Set<Int>()
            for await index in group {
                guard let index else { break }
                finished.insert(index)
                if finished.count == parts.count { break }
            }
            // The deadline (or the last part): stop the timer, or whatever still waits.
            group.cancelAll()
            return finished
        }
        var checks: [DoctorCheck] = []
        var unfinished: [String] = []
        for (index, part) in parts.enumerated() {
            checks += part.log.checks
            if !finished.contains(index) {
                unfinished.append(part.name)
                checks.append(.failed(part.name, "no answer within \(ReadableDuration.span(timeout)) while \(part.log.currentStep)", fix: part.fix))
            }
        }
        return DoctorReport(checks: checks, elapsed: ContinuousClock.now - started, timeout: timeout, unfinished: unfinished)
    }

    /// One part of the run, with the log its lines go to as they come.
    private struct Part: Sendable {
        let name: String
        /// What to do when the deadline cuts the part short.
        let fix: String
        let log = CheckLog()
        let work: @Sendable (CheckLog) async -> Void

        init(name: String, fix: String, work: @escaping @Sendable (CheckLog) async -> Void) {
            self.name = name
            self.fix = fix
            self.work = work
        }
    }
}
