extension ConfigKeys {
    /// What a key holds, as far as the file's shape goes: what the loader accepts at its path.
    ///
    /// Sections (`kafka`, `mparticle.events`, an input under `mparticle.feeds`) are not keys of
    /// their own: they are the objects the keys' paths pass through.
    enum Kind: Sendable {
        /// One value.
        case scalar
        /// A list of values (in the environment, comma-separated).
        case list
        /// Entries under names the file chooses. Each entry is one value, or an object whose
        /// fields are the table's keys below it, written with a placeholder segment
        /// (`mparticle.feeds.<input>.key`).
        case map
    }

    /// One key of the configuration file: its path, its shape, whether it is a secret, its
    /// value in a configuration (and so its default) and what it is for.
    ///
    /// Everything that names a key takes the name from here: the loader's schema, reads and
    /// messages, the environment variable that overrides it, `check-config`'s output, and the
    /// README's table (checked by a test).
    struct Key: Sendable, Equatable, CustomStringConvertible {
        /// The dotted path, as files nest it and messages name it: `delivery.linger_ms`. A
        /// segment in angle brackets (`<input>`) stands for a name the file chooses.
        let path: String
        let kind: Kind
        /// A credential: read as a secret (never logged) and printed as `<redacted>`. The values
        /// of `kafka.properties` are secret by their own names (`ConfigLoader.isSecretKey`).
        let isSecret: Bool
        /// Whether `check-config` prints the key when it holds its default. Off for an opt-out
        /// (`insecure_skip_tls_verify`) and an optional key, which it prints only when set.
        let printedWhenDefault: Bool
        /// What the key is for, in one line of Markdown: the README's row says it.
        let summary: String
        /// The key's value in `configuration`; nil for a key under a map, which has one value
        /// per name the file chooses (`ConfigPrinter` prints those with their map).
        let value: (@Sendable (_ configuration: RelayConfiguration) -> ConfigValue)?

        init(_ path: String, _ kind: Kind, secret: Bool = false, printedWhenDefault: Bool = true, _ summary: String,
             value: (@Sendable (_ configuration: RelayConfiguration) -> ConfigValue)?) {
            self.path = path
            self.kind = kind
            self.isSecret = secret
            self.printedWhenDefault = printedWhenDefault
            self.summary = summary
            self.value = value
        }

        static func == (left: Key, right: Key) -> Bool { left.path == right.path }

        /// The path, so that a message can name the key by interpolating it.
        var description: String { path }

        /// The path's segments: `["delivery", "linger_ms"]`.
        var components: [String] { path.split(separator: ".").map(String.init) }

        /// The last segment: the key's name inside its section (`linger_ms`).
        var name: String { components.last ?? path }

        /// The sections the key sits in, outermost first (`["mparticle", "events"]`).
        var sections: [String] { Array(components.dropLast()) }

        /// Whether a segment of the path is a placeholder: the key is a field of a map's entries.
        var isUnderMap: Bool { components.contains(where: Self.isPlaceholder) }

        /// The default, read from `RelayConfiguration`'s own default values (the one place they
        /// are written); nil for a key under a map.
        var defaultValue: ConfigValue? { value?(RelayConfiguration()) }

        /// The default as the README's table gives it; empty when there is none.
        var defaultText: String { defaultValue?.documented ?? "" }

        /// The path for one name the file chose: the placeholder replaced by it
        /// (`mparticle.feeds.<input>.secret` for `ios` is `mparticle.feeds.ios.secret`), or, for
        /// a map, that entry's path (`mparticle.apps` for `app-1` is `mparticle.apps.app-1`).
        func path(_ name: String) -> String {
            named(name).joined(separator: ".")
        }

        /// The environment variable that overrides the key: `CURRENTS_RELAY_` + the path in upper
        /// case with `_` for `.` (`CURRENTS_RELAY_DELIVERY_LINGER_MS`); a placeholder stays one
        /// (`CURRENTS_RELAY_MPARTICLE_FEEDS_<INPUT>_SECRET`).
        var environmentVariable: String {
            ConfigKeys.environmentPrefix + components.map { Self.isPlaceholder($0) ? $0.uppercased() : ConfigLoader.environmentName(ofInput: $0) }
                .joined(separator: "_")
        }

        /// The environment variable for one name the file chose, by the rule every key's override
        /// follows (`ConfigLoader.environmentName(ofInput:)`): `mparticle.feeds.<input>.secret`
        /// for `ios-tablet` is `CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_TABLET_SECRET`.
        func environmentVariable(_ name: String) -> String {
            ConfigKeys.environmentPrefix + named(name).map(ConfigLoader.environmentName(ofInput:)).joined(separator: "_")
        }

        private func named(_ name: String) -> [String] {
            isUnderMap ? components.map { Self.isPlaceholder($0) ? name : $0 } : components + [name]
        }

        static func isPlaceholder(_ segment: String) -> Bool {
            segment.hasPrefix("<") && segment.hasSuffix(">")
        }
    }
}
