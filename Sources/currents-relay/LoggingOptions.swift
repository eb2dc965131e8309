import ArgumentParser
import Foundation
import Logging

/// `--log-level` and `--log-format`, shared by every command that logs.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (or CURRENTS_RELAY_LOG_LEVEL).")
    var logLevel: String?

    @Option(name: .long, help: "text or json: one JSON object per line (or CURRENTS_RELAY_LOG_FORMAT).")
    var logFormat: String?

    /// A level or format nobody can mean is refused, from the flag or the environment: falling
    /// back to info hid a typo (`--log-level warn`) behind a flood of info lines, and a typo in
    /// the environment variable behind nothing at all.
    func validate() throws {
        let environment = ProcessInfo.processInfo.environment
        if let problem = LoggingSetup.problem(level: logLevel, format: logFormat, environment: environment) {
            throw ValidationError(problem)
        }
    }

    /// `defaultLevel` when neither `--log-level` nor `CURRENTS_RELAY_LOG_LEVEL` says.
    func bootstrap(defaultLevel: Logger.Level = .info) -> Logger {
        LoggingSetup.bootstrap(level: logLevel, format: logFormat, defaultLevel: defaultLevel)
    }
}
