import Foundation
import Logging

/// Bootstraps swift-log once, with the level from `--log-level` or `CURRENTS_RELAY_LOG_LEVEL`.
enum LoggingSetup {
    static func bootstrap(level: String?) -> Logger {
        let chosen = Logger.Level(rawValue: (level ?? ProcessInfo.processInfo.environment["CURRENTS_RELAY_LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
            return handler
        }
        return Logger(label: "currents-relay")
    }
}
