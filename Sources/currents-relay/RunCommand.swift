import ArgumentParser
import Foundation
import Logging
import Relay
import UnixSignals

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Relay events from Kafka to mParticle until SIGINT or SIGTERM.")

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "Seconds to wait for in-flight requests on shutdown.")
    var shutdownTimeout: Int = 30

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func run() async throws {
        let logger = LoggingSetup.bootstrap(level: logLevel)
        let configuration = try await ConfigLoader.load(path: config)
        let runner = try RelayRunner(configuration: configuration, logger: logger)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let timeout = shutdownTimeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            group.addTask {
                for await signal in signals {
                    logger.info("received \(signal); shutting down (flush, wait for in-flight requests, commit, leave group)")
                    await runner.shutdown(timeout: .seconds(timeout))
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
        let stats = runner.stats.snapshot
        logger.info("relay exited", metadata: [
            "records": "\(stats.recordsConsumed)", "accepted": "\(stats.totalAccepted)", "skipped": "\(stats.totalSkipped)",
        ])
    }
}
