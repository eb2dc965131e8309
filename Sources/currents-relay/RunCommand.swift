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

    @OptionGroup var logging: LoggingOptions

    @Option(name: .long, help: "Seconds between one-line status logs (rate, lag, in flight, blocked feeds); 0 turns them off.")
    var statusInterval: Int = 30

    func run() async throws {
        let logger = logging.bootstrap()
        let configuration = try await loadConfiguration(config, logger: logger)
        let operations = configuration.http.port > 0 ? OperationsServer(port: configuration.http.port, logger: logger) : nil
        let runner = try RelayRunner(configuration: configuration, logger: logger)
        let maxBlockedMs = configuration.http.readyMaxBlocked.milliseconds
        operations?.setReadiness { [runner] in
            await RelayHealth.notReadyReasons(runner: runner, maxBlockedMs: maxBlockedMs)
        }
        operations?.setReady(true)
        let statusEvery = statusInterval
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let timeout = shutdownTimeout
        let path = config
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            // Credentials reload without a restart: on SIGHUP, and when the file changes.
            group.addTask {
                await withTaskGroup(of: Void.self) { reloads in
                    reloads.addTask {
                        for await _ in hangups {
                            await CredentialReloader.reload(path: path, runner: runner, logger: logger, why: "SIGHUP")
                        }
                    }
                    reloads.addTask {
                        var last = CredentialReloader.modificationDate(path)
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(5))
                            let now = CredentialReloader.modificationDate(path)
                            if now != last {
                                last = now
                                await CredentialReloader.reload(path: path, runner: runner, logger: logger, why: "file changed")
                            }
                        }
                    }
                    await reloads.waitForAll()
                }
            }
            if statusEvery > 0 {
                group.addTask {
                    await RelayHealth.logStatus(runner: runner, every: .seconds(statusEvery), logger: logger)
                }
            }
            group.addTask {
                for await signal in signals {
                    logger.info("received \(signal); shutting down (flush, wait for in-flight requests, commit, leave group)")
                    operations?.setReady(false)
                    await runner.shutdown(timeout: .seconds(timeout))
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
        await operations?.stop()
        let stats = runner.stats.snapshot
        logger.info("relay exited", metadata: [
            "records": "\(stats.recordsConsumed)", "accepted": "\(stats.totalAccepted)", "skipped": "\(stats.totalSkipped)",
        ])
    }
}

/// Re-reads the configuration for new feed credentials. A file that no longer loads keeps the
/// credentials in use, and says why.
enum CredentialReloader {
    static func reload(path: String, runner: RelayRunner, logger: Logger, why: String) async {
        do {
            let configuration = try await ConfigLoader.load(path: path)
            runner.updateCredentials(configuration.mparticle.feeds)
            logger.notice("configuration re-read for credentials", metadata: ["trigger": "\(why)"])
        } catch {
            logger.error("configuration reload failed; keeping the credentials in use", metadata: ["trigger": "\(why)", "error": "\(error)"])
        }
    }

    static func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
