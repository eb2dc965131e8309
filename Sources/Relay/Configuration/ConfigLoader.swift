import Configuration
import Foundation
import Kafka
import MParticle
import Yams

/// A configuration problem, naming the key and what is wrong with it. Never carries a secret.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Loads `RelayConfiguration` from one YAML file with `CURRENTS_RELAY_...` environment overrides.
///
/// The YAML tree is first checked against the known keys (`schema`, from `ConfigKeys`: a typo is an
/// error, not a silent default); values are then read through swift-configuration, environment
/// first, so any key can be overridden by `CURRENTS_RELAY_` + its path in upper case with `_` for
/// `.` (`ConfigKeys.Key.environmentVariable`).
public enum ConfigLoader {
    /// Reads and validates the file at `path`, applying overrides from `environment`.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> RelayConfiguration {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError("config file not found: \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("config file \(path) cannot be read as UTF-8 text")
        }
        let tree: Node?
        do {
            tree = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError("malformed YAML in \(path): \(error)")
        }
        var yamlMaps: [String: [String: String]] = [:]
        if let tree {
            guard case .mapping = tree else { throw ConfigError("\(path): the top level must be a mapping of keys") }
            try validate(tree, against: schema, path: "", maps: &yamlMaps)
        }
        var providers: [any ConfigProvider] = []
        if tree != nil {
            // An empty file is valid (all defaults), but the YAML provider needs a mapping.
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: .init(path)))
            } catch {
                throw ConfigError("cannot read \(path): \(error)")
            }
        }
        let environmentProvider = EnvironmentVariablesProvider(
            environmentVariables: environment.filter { $0.key.hasPrefix(ConfigKeys.environmentPrefix) },
            secretsSpecifier: .dynamic { key, _ in isSecretKey(key) }
        ).prefixKeys(with: "currents_relay")
        let reader = ConfigReader(providers: [environmentProvider] + providers)
        var configuration = try build(reader: reader, maps: yamlMaps, environment: environment)
        if let tree, let warning = permissionWarning(path: path, secretKeys: secretKeys(in: tree, path: "")) {
            configuration.warnings.insert(warning, at: 0)
        }
        return configuration
    }

    /// What the relay holds per record in flight (its encoded mParticle event and batch header; the
    /// record itself is read again from Kafka if it must be parked) is ~0.5–1 KB for Currents (the
    /// bench's average ~800 bytes): less than this fills `max_in_flight_bytes` first.
    static let typicalRecordBytes = 1024

    /// A warning when the byte cap binds long before the record cap: someone who raised
    /// `max_in_flight_messages` for a larger grouping window (fewer batches per event) and left
    /// `max_in_flight_bytes` alone gets a window the byte cap sets, with nothing saying so.
    static func byteCapWarning(_ delivery: RelayConfiguration.DeliverySettings) -> String? {
        let perRecord = delivery.maxInFlightBytes / delivery.maxInFlightMessages
        guard perRecord < typicalRecordBytes else { return nil }
        let bytes = ConfigKeys.Delivery.maxInFlightBytes, messages = ConfigKeys.Delivery.maxInFlightMessages
        return "\(bytes) (\(delivery.maxInFlightBytes)) allows \(perRecord) bytes for each of \(messages) (\(delivery.maxInFlightMessages)); the relay holds ~0.5-1 KB per Currents record in flight (its encoded event), so the byte cap pauses partitions first and holds fewer records (a smaller grouping window, more batches per event). Raise \(bytes.name) to at least \(delivery.maxInFlightMessages * typicalRecordBytes) with it"
    }

    /// The keys of `tree` that hold a non-empty secret value (their names, never their values).
    static func secretKeys(in node: Node, path: String) -> [String] {
        switch node {
        case .mapping(let mapping):
            return mapping.flatMap { keyNode, value -> [String] in
                let key = keyNode.string ?? ""
                let child = path.isEmpty ? key : "\(path).\(key)"
                if case .scalar(let scalar) = value {
                    let text = scalar.string
                    let empty = text.isEmpty || text == "~" || text == "null"
                    return !empty && isSecretKey(key) && !isPublicDemoSecret(child, text) ? [child] : []
                }
                return secretKeys(in: value, path: child)
            }
        default:
            return []
        }
    }

    /// The local simulator's demo credentials (`demo-ios-secret` at `mparticle.feeds.ios.secret`,
    /// and likewise per feed): published in the README and in `config/relay.local.yaml`, so not a
    /// secret to guard. A fresh clone's files are mode 644 (git keeps no other), and every command
    /// of the README's local run warned that the file "holds secrets".
    static func isPublicDemoSecret(_ path: String, _ value: String) -> Bool {
        let parts = path.split(separator: ".")
        guard parts.count == 4 else { return false }
        let input = String(parts[2])
        return path == ConfigKeys.MParticle.feedSecret.path(input) && value == "demo-\(input)-secret"
    }

    /// A file that holds secrets should be readable by its owner only (`chmod 600`); anyone else
    /// who can read it holds the feeds' credentials. Returns the warning, or nil.
    static func permissionWarning(path: String, secretKeys: [String]) -> String? {
        guard !secretKeys.isEmpty,
              let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue else { return nil }
        let readers = [(mode & 0o040) != 0 ? "its group" : nil, (mode & 0o004) != 0 ? "every user" : nil].compactMap { $0 }
        guard !readers.isEmpty else { return nil }
        return "config file \(path) holds secrets (\(secretKeys.sorted().joined(separator: ", "))) and can be read by \(readers.joined(separator: " and ")) "
            + "(mode \(String(mode & 0o777, radix: 8))): run chmod 600 \(path), or move the secrets to environment variables such as \(ConfigKeys.MParticle.feedSecret.environmentVariable("ios"))"
    }

    /// Hosts a TLS opt-out may point at: this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare.hasSuffix(".localhost") || bare == "::1" || bare.hasPrefix("127.")
    }

    /// Secret by name: feed secrets and anything that looks like a password or key material.
    static func isSecretKey(_ key: String) -> Bool {
        let lower = key.lowercased()
        return lower.hasSuffix("secret") || lower.contains("password") || lower.contains("sasl_oauthbearer")
            || lower.contains("ssl_key") || lower.contains("sasl.oauthbearer") || lower.contains("ssl.key")
    }

    /// Reads every key of `ConfigKeys` (environment first) over the defaults, checking each value
    /// and the rules between keys; `maps` holds the entries of the file's maps by path.
    static func build(reader: ConfigReader, maps: [String: [String: String]], environment: [String: String]) throws -> RelayConfiguration {
        var configuration = RelayConfiguration()
        func string(_ path: String, secret: Bool) -> String? {
            reader.string(forKey: ConfigKey(path), isSecret: secret).flatMap { $0.isEmpty ? nil : $0 }
        }
        func string(_ key: ConfigKeys.Key) -> String? { string(key.path, secret: key.isSecret) }
        func list(_ key: ConfigKeys.Key) -> [String]? {
            if let values = reader.stringArray(forKey: ConfigKey(key.path)) { return values }
            return string(key).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        }
        func integer(_ key: ConfigKeys.Key, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = string(key) else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                throw ConfigError("\(key): expected a whole number in \(range.lowerBound)...\(range.upperBound), found \"\(text)\"")
            }
            return value
        }
        /// The entries of the map `key` as the file names them, each read through the reader.
        func entries(_ key: ConfigKeys.Key, secret: (String) -> Bool = { _ in false }) -> [(name: String, value: String)] {
            (maps[key.path] ?? [:]).map { name, _ in
                (name, reader.string(forKey: ConfigKey(key.components + [name]), isSecret: secret(name)) ?? "")
            }
        }

        if let name = string(ConfigKeys.name) { configuration.name = name }

        let kafka = ConfigKeys.Kafka.self
        if let servers = string(kafka.bootstrapServers) { configuration.kafka.bootstrapServers = servers }
        if let group = string(kafka.groupID) { configuration.kafka.groupID = group }
        if let topics = list(kafka.topics) {
            let cleaned = topics.filter { !$0.isEmpty }
            guard !cleaned.isEmpty else { throw ConfigError("\(kafka.topics): at least one topic name or ^regex is needed") }
            for topic in cleaned where topic.hasPrefix("^") {
                do { _ = try NSRegularExpression(pattern: topic) } catch {
                    throw ConfigError("\(kafka.topics): \(topic) is not a valid regular expression")
                }
            }
            configuration.kafka.topics = cleaned
        }
        if let drain = try integer(kafka.drainTimeoutMs, 0...600_000) { configuration.kafka.drainTimeoutMs = drain }
        if let instance = string(kafka.groupInstanceID) { configuration.kafka.groupInstanceID = instance }
        for (name, value) in entries(kafka.properties, secret: isSecretKey) {
            configuration.kafka.properties[name] = value
        }

        if let session = configuration.kafka.properties["session.timeout.ms"].flatMap(Int.init), configuration.kafka.drainTimeoutMs >= session {
            throw ConfigError("\(kafka.drainTimeoutMs) (\(configuration.kafka.drainTimeoutMs)) must be below \(kafka.properties.path("session.timeout.ms")) (\(session)), or the member is evicted while it drains")
        }
        let mparticle = ConfigKeys.MParticle.self
        if let url = string(mparticle.baseURL) {
            guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
                throw ConfigError("\(mparticle.baseURL): expected an http(s) URL such as https://s2s.mparticle.com, found \"\(url)\"")
            }
            configuration.mparticle.baseURL = url
        }
        if let text = string(mparticle.insecureSkipTLSVerify) {
            guard let value = Bool(text.lowercased()) else {
                throw ConfigError("\(mparticle.insecureSkipTLSVerify): expected true or false, found \"\(text)\"")
            }
            configuration.mparticle.insecureSkipTLSVerify = value
        }
        let baseURL = URL(string: configuration.mparticle.baseURL)
        let host = baseURL?.host ?? ""
        if configuration.mparticle.insecureSkipTLSVerify {
            guard isLoopback(host) else {
                throw ConfigError("\(mparticle.insecureSkipTLSVerify): only allowed for a simulator on this machine (localhost, 127.0.0.1 or ::1); \(mparticle.baseURL) points at \(host). Install the server's CA instead")
            }
            configuration.warnings.append("TLS CERTIFICATE VERIFICATION IS OFF for \(configuration.mparticle.baseURL) (\(mparticle.insecureSkipTLSVerify): true). Accepted only because the host is this machine; never use it against mParticle")
        }
        if baseURL?.scheme == "http", !isLoopback(host) {
            configuration.warnings.append("\(mparticle.baseURL) \(configuration.mparticle.baseURL) is plain HTTP: feed credentials and events cross the network unencrypted. Use https://")
        }
        if let environmentName = string(mparticle.environment) {
            guard let value = MParticleEnvironment(rawValue: environmentName) else {
                throw ConfigError("\(mparticle.environment): expected production or development, found \"\(environmentName)\"")
            }
            configuration.mparticle.environment = value
        }
        if let identity = string(mparticle.identity) { configuration.mparticle.identity = identity }
        try readInputs(into: &configuration.mparticle, declared: Array((maps[mparticle.feeds.path] ?? [:]).keys)) { string($0, secret: $1) }
        let catalog = configuration.mparticle.catalog
        for (appID, name) in entries(mparticle.apps) {
            // An input's name; for today's files also a built-in input in any case, or a Currents
            // platform value (tvos, kindle, roku) that names one.
            guard let feed = catalog.feed(named: name) ?? Feed(rawValue: name.lowercased()) ?? Feed.forPlatform(name) else {
                throw ConfigError("\(mparticle.apps.path(appID)): unknown input \"\(name)\" (known inputs: \(catalog.feeds.map(\.name).joined(separator: ", ")))")
            }
            configuration.mparticle.apps[appID] = feed
        }
        if let name = string(mparticle.workspaceFeed) {
            guard let feed = catalog.feed(named: name) else {
                throw ConfigError("\(mparticle.workspaceFeed): unknown input \"\(name)\" (known inputs: \(catalog.feeds.map(\.name).joined(separator: ", ")))")
            }
            configuration.mparticle.workspaceFeed = feed
        }
        if let include = list(mparticle.include) { configuration.mparticle.include = include }
        if let exclude = list(mparticle.exclude) { configuration.mparticle.exclude = exclude }
        if let policy = string(mparticle.unknownTypes) {
            guard let value = UnknownEventTypePolicy(rawValue: policy) else {
                throw ConfigError("\(mparticle.unknownTypes): expected skip or send, found \"\(policy)\"")
            }
            configuration.mparticle.unknownTypes = value
        }

        let delivery = ConfigKeys.Delivery.self
        if let linger = try integer(delivery.lingerMs, 0...60_000) { configuration.delivery.lingerMs = linger }
        if let cap = try integer(delivery.maxInFlightRequestsPerFeed, 1...256) { configuration.delivery.maxInFlightRequestsPerFeed = cap }
        if let cap = try integer(delivery.maxInFlightMessages, 100...10_000_000) { configuration.delivery.maxInFlightMessages = cap }
        if let cap = try integer(delivery.maxInFlightBytes, 1_048_576...Int.max) { configuration.delivery.maxInFlightBytes = cap }
        if let warning = byteCapWarning(configuration.delivery) { configuration.warnings.append(warning) }
        if let base = try integer(delivery.retryBaseMs, 1...600_000) { configuration.delivery.retryBaseMs = base }
        if let cap = try integer(delivery.retryMaxMs, 1...3_600_000) { configuration.delivery.retryMaxMs = cap }
        if let timeout = try integer(delivery.requestTimeoutMs, 100...600_000) { configuration.delivery.requestTimeoutMs = timeout }
        if let interval = try integer(delivery.authProbeIntervalMs, 100...3_600_000) { configuration.delivery.authProbeIntervalMs = interval }
        if let rate = try integer(delivery.maxBatchesPerSecondPerFeed, 1...100_000) { configuration.delivery.maxBatchesPerSecondPerFeed = rate }
        if let mode = string(delivery.dedup) {
            guard let value = DedupMode(rawValue: mode) else {
                throw ConfigError("\(delivery.dedup): expected grouped or per_event, found \"\(mode)\"")
            }
            configuration.delivery.dedup = value
        }

        let deadLetter = ConfigKeys.DeadLetter.self
        if let topic = string(deadLetter.topic) { configuration.deadLetter.topic = topic }
        if let age = string(deadLetter.maxAge) {
            guard let duration = DurationText.parse(age), duration > .zero else {
                throw ConfigError("\(deadLetter.maxAge): expected a duration such as 48h, 90m or 2d, found \"\(age)\"")
            }
            configuration.deadLetter.maxAge = duration
        }
        do {
            try validateKafkaProperties(configuration.kafka.properties)
        } catch let error as KafkaError {
            throw ConfigError("\(kafka.properties): \(error.message) (librdkafka)")
        }
        let http = ConfigKeys.HTTP.self
        if let port = try integer(http.port, 0...65_535) { configuration.http.port = port }
        if let text = string(http.readyMaxBlocked) {
            guard let duration = DurationText.parse(text) else {
                throw ConfigError("\(http.readyMaxBlocked): expected a duration such as 5m, 30s or 0s, found \"\(text)\"")
            }
            configuration.http.readyMaxBlocked = duration
        }
        return configuration
    }
}
