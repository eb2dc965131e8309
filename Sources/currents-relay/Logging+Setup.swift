import Foundation
import Logging
import NIOConcurrencyHelpers

/// Bootstraps swift-log once: the level from `--log-level` or `CURRENTS_RELAY_LOG_LEVEL`, the
/// format (`text` or `json`, one object per line for log shippers) from `--log-format` or
/// `CURRENTS_RELAY_LOG_FORMAT`.
enum LoggingSetup {
    /// The levels swift-log knows, in its order.
    static let levels = Logger.Level.allCases.map(\.rawValue)
    static let levelVariable = "CURRENTS_RELAY_LOG_LEVEL"
    static let formatVariable = "CURRENTS_RELAY_LOG_FORMAT"

    /// A setting from its flag, else from its environment variable, with where it came from: the
    /// one rule both the check (`problem`) and the setup (`bootstrap`) follow.
    static func chosen(_ flag: String?, _ flagName: String, _ environment: [String: String], _ variable: String) -> (value: String, source: String)? {
        if let flag { return (flag, flagName) }
        if let value = environment[variable] { return (value, variable) }
        return nil
    }

    /// What is wrong with the level or format a command would use, or nil. The message names
    /// where the value came from.
    static func problem(level: String?, format: String?, environment: [String: String]) -> String? {
        if let (value, source) = chosen(level, "--log-level", environment, levelVariable),
           Logger.Level(rawValue: value.lowercased()) == nil {
            return "\(source): expected one of \(levels.joined(separator: ", ")), found \"\(value)\""
        }
        if let (value, source) = chosen(format, "--log-format", environment, formatVariable),
           !["text", "json"].contains(value.lowercased()) {
            return "\(source): expected text or json, found \"\(value)\""
        }
        return nil
    }

    /// Bootstraps swift-log with the flag's level, else the variable's, else `defaultLevel`;
    /// likewise the format (text by default). `problem` has refused anything else by then.
    static func bootstrap(level: String?, format: String?, defaultLevel: Logger.Level = .info,
                          environment: [String: String] = ProcessInfo.processInfo.environment) -> Logger {
        let chosenLevel = chosen(level, "--log-level", environment, levelVariable).flatMap { Logger.Level(rawValue: $0.value.lowercased()) } ?? defaultLevel
        let json = chosen(format, "--log-format", environment, formatVariable)?.value.lowercased() == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = chosenLevel
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosenLevel
            return handler
        }
        return Logger(label: "currents-relay")
    }
}

/// One JSON object per line on standard error: `ts`, `level`, `logger`, `msg`, then the metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    private static let lock = NIOLockedValueBox(())

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line = "{\"ts\":\(Self.quote(Self.timestamp())),\"level\":\(Self.quote(event.level.rawValue)),\"logger\":\(Self.quote(label)),\"msg\":\(Self.quote("\(event.message)"))"
        for key in merged.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            line += ",\(Self.quote(key)):\(Self.quote("\(merged[key]!)"))"
        }
        line += "}\n"
        Self.lock.withLockedValue { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where c.value < 0x20: result += String(format: "\\u%04x", c.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
