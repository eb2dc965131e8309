import Foundation
import Logging
import NIOConcurrencyHelpers

/// Bootstraps swift-log once: the level from `--log-level` or `CURRENTS_RELAY_LOG_LEVEL`, the
/// format (`text` or `json`, one object per line for log shippers) from `--log-format` or
/// `CURRENTS_RELAY_LOG_FORMAT`.
enum LoggingSetup {
    static func bootstrap(level: String?, format: String? = nil) -> Logger {
        let environment = ProcessInfo.processInfo.environment
        let chosen = Logger.Level(rawValue: (level ?? environment["CURRENTS_RELAY_LOG_LEVEL"] ?? "info").lowercased()) ?? .info
        let json = (format ?? environment["CURRENTS_RELAY_LOG_FORMAT"] ?? "text").lowercased() == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = chosen
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
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
