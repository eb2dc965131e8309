import Logging
import MParticle

/// `replay`: a bounded run over a `ReplayPlan` with an assignment of its own. Nothing is
/// committed, to the configured group or any other.
public enum ReplayJob {
    public static func runner(plan: ReplayPlan, configuration: RelayConfiguration, logger: Logger, api: (any EventsAPI)? = nil,
                              deadLetters: (any DeadLetterSink)? = nil) throws -> RelayRunner {
        let ranges = plan.ranges.filter { $0.count > 0 }
        var settings = RelayPipeline.Settings(configuration)
        // Old records are replayed on purpose: the age limit bounds this run's own attempts.
        settings.ageFromFirstRead = true
        return try RelayRunner(
            configuration: configuration, logger: logger, api: api, deadLetters: deadLetters,
            source: .init(assignment: Dictionary(uniqueKeysWithValues: ranges.map { ($0.partition, $0.start) }),
                          groupID: "\(configuration.kafka.groupID).replay", commitsOffsets: false,
                          endOffsets: Dictionary(uniqueKeysWithValues: ranges.map { ($0.partition, $0.end) })),
            settings: settings)
    }
}
