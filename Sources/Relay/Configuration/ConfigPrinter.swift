import MParticle

/// Renders the effective configuration as YAML with every secret redacted, for `check-config`
/// and the startup log.
///
/// The keys, their order and their sections come from `ConfigKeys.all`, so a key added there is
/// printed without a change here; only the maps, whose entries are named by the file, are
/// rendered one by one.
public enum ConfigPrinter {
    /// What a secret value prints as.
    static let redacted = "<redacted>"

    public static func render(_ configuration: RelayConfiguration) -> String {
        var lines: [String] = []
        var open: [String] = []  // the sections whose header is printed, outermost first
        for key in ConfigKeys.all where !key.isUnderMap {
            let own = self.lines(of: key, in: configuration)
            guard !own.isEmpty else { continue }
            let sections = key.sections
            let shared = zip(open, sections).prefix { $0 == $1 }.count
            for depth in shared..<sections.count {
                lines.append(indent(depth) + sections[depth] + ":")
            }
            open = sections
            lines += own.map { indent(sections.count) + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The key's lines, indented from its section: one `name: value`, or a map's header and its
    /// entries. None for a key printed only when set that holds its default.
    static func lines(of key: ConfigKeys.Key, in configuration: RelayConfiguration) -> [String] {
        guard let value = key.value?(configuration), key.printedWhenDefault || value != key.defaultValue else { return [] }
        if let printed = value.printed { return ["\(key.name): \(printed)"] }
        guard key.kind == .map else { return [] }
        return ["\(key.name):"] + entries(of: key, in: configuration).map { indent(1) + $0 }
    }

    /// The entries of the map `key`, one line each.
    static func entries(of key: ConfigKeys.Key, in configuration: RelayConfiguration) -> [String] {
        let quoted = ConfigValue.quoted
        switch key {
        case ConfigKeys.MParticle.feeds:
            return feedEntries(configuration.mparticle)
        case ConfigKeys.MParticle.apps:
            return configuration.mparticle.apps.sorted(by: { $0.key < $1.key }).map { "\(quoted($0.key)): \($0.value.rawValue)" }
        default:
            // `kafka.properties`, and any map of texts: a value whose name looks secret is redacted.
            guard case .mapping(let entries)? = key.value?(configuration) else { return [] }
            return entries.sorted(by: { $0.key < $1.key }).map { "\($0.key): \(quoted(ConfigLoader.isSecretKey($0.key) ? redacted : $0.value))" }
        }
    }

    /// One line per input with credentials: a named input's platform, the key, the secret
    /// redacted, and a note when the input shares its key with an earlier one (one mParticle input).
    static func feedEntries(_ settings: RelayConfiguration.MParticleSettings) -> [String] {
        let quoted = ConfigValue.quoted
        let keys = ConfigKeys.MParticle.self
        let shared = settings.sharedKeys
        return settings.catalog.feeds.compactMap { feed in
            guard let credentials = settings.feeds[feed] else { return nil }
            let platform = feed.ordinal < Feed.allCases.count ? "" : "\(keys.feedPlatform.name): \(quoted(settings.catalog.platform(of: feed).rawValue)), "
            let note = shared[feed].map { "  # the key of \($0.name): one mParticle input, sent as \($0.name)" } ?? ""
            return "\(feed.rawValue): { \(platform)\(keys.feedKey.name): \(quoted(credentials.key)), \(keys.feedSecret.name): \(quoted(redacted)) }\(note)"
        }
    }

    static func indent(_ depth: Int) -> String { String(repeating: "  ", count: depth) }
}
