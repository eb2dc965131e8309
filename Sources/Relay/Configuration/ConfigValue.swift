import Foundation

/// A configuration key's value as the relay shows it to people: the line `check-config` prints
/// for it, and its default in the README's configuration table.
///
/// The typed settings (`RelayConfiguration`) hold values as the relay uses them (`Duration`,
/// `Feed`, enums); this is the common shape that lets one table, `ConfigKeys`, print every key
/// and state every default without knowing each setting's type.
enum ConfigValue: Sendable, Equatable {
    /// Free text: a name, a URL, an enum's raw value. Printed quoted.
    case text(String)
    case number(Int)
    case flag(Bool)
    /// Texts, printed as a YAML flow sequence of quoted texts.
    case list([String])
    /// A span of time, printed the way `check-config` has always printed that key (`style`).
    case duration(Duration, DurationStyle)
    /// Entries under names the file chooses (`kafka.properties`, `mparticle.apps`, ...). Only
    /// the empty one has a one-line form; `ConfigPrinter` prints the entries of the others.
    case mapping([String: String])
    /// An optional key that is not set (`kafka.group_instance_id`).
    case unset

    /// How `check-config` prints a duration. Two keys, two forms, both kept as they were: the
    /// output is read by people and scripts.
    enum DurationStyle: Sendable, Equatable {
        /// Whole hours when the span is a whole number of hours, else whole seconds (`48h`, `5400s`).
        case hoursOrSeconds
        /// Whole seconds (`300s`).
        case seconds
    }

    /// The value as `check-config` prints it after `key: `, or nil when it has no one-line form
    /// (a map with entries, or an unset key).
    var printed: String? {
        switch self {
        case .text(let text): return Self.quoted(text)
        case .number(let number): return "\(number)"
        case .flag(let flag): return "\(flag)"
        case .list(let texts): return "[\(texts.map(Self.quoted).joined(separator: ", "))]"
        case .duration(let duration, .hoursOrSeconds):
            let seconds = duration.components.seconds
            return Self.quoted(seconds % 3600 == 0 ? "\(seconds / 3600)h" : "\(seconds)s")
        case .duration(let duration, .seconds): return Self.quoted("\(duration.milliseconds / 1000)s")
        case .mapping(let entries): return entries.isEmpty ? "{}" : nil
        case .unset: return nil
        }
    }

    /// The value as the README's configuration table gives it (without the backticks): text
    /// unquoted, a duration in its largest whole unit (`48h`, `5m`), an unset key as the empty
    /// text. This is what the README's defaults are checked against.
    var documented: String {
        switch self {
        case .text(let text): return text
        case .duration(let duration, _):
            let milliseconds = duration.milliseconds
            if milliseconds == 0 { return "0s" }
            for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000)] where milliseconds % size == 0 {
                return "\(milliseconds / size)\(unit)"
            }
            return "\(milliseconds)ms"
        case .mapping(let entries) where !entries.isEmpty:
            return "{" + entries.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        default: return printed ?? ""
        }
    }

    /// `text` in double quotes, with `\` and `"` escaped: how `check-config` prints any text.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
