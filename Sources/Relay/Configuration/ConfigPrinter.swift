/// Renders the effective configuration as YAML with every secret redacted, for `check-config`
/// and the startup log.
public enum ConfigPrinter {
    public static func render(_ configuration: RelayConfiguration) -> String {
        var lines: [String] = []
        func quote(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        lines.append("name: \(quote(configuration.name))")
        lines.append("kafka:")
        lines.append("  bootstrap_servers: \(quote(configuration.kafka.bootstrapServers))")
        lines.append("  group_id: \(quote(configuration.kafka.groupID))")
        lines.append("  topics: [\(configuration.kafka.topics.map(quote).joined(separator: ", "))]")
        lines.append("  drain_timeout_ms: \(configuration.kafka.drainTimeoutMs)")
        if let instance = configuration.kafka.groupInstanceID { lines.append("  group_instance_id: \(quote(instance))") }
        if configuration.kafka.properties.isEmpty {
            lines.append("  properties: {}")
        } else {
            lines.append("  properties:")
            for (key, value) in configuration.kafka.properties.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(key): \(ConfigLoader.isSecretKey(key) ? quote("<redacted>") : quote(value))")
            }
        }
        lines.append("mparticle:")
        lines.append("  base_url: \(quote(configuration.mparticle.baseURL))")
        if configuration.mparticle.insecureSkipTLSVerify { lines.append("  insecure_skip_tls_verify: true") }
        lines.append("  environment: \(quote(configuration.mparticle.environment.rawValue))")
        lines.append("  identity: \(quote(configuration.mparticle.identity))")
        if configuration.mparticle.feeds.isEmpty {
            lines.append("  feeds: {}")
        } else {
            lines.append("  feeds:")
            let shared = configuration.mparticle.sharedKeys
            for feed in configuration.mparticle.inputs.feeds {
                guard let credentials = configuration.mparticle.feeds[feed] else { continue }
                let platform = feed.ordinal < Feed.allCases.count ? "" : "platform: \(quote(configuration.mparticle.inputs.platform(of: feed).rawValue)), "
                let note = shared[feed].map { "  # the key of \($0.name): one mParticle feed, sent as \($0.name)" } ?? ""
                lines.append("    \(feed.rawValue): { \(platform)key: \(quote(credentials.key)), secret: \(quote("<redacted>")) }\(note)")
            }
        }
        lines.append("  workspace_feed: \(quote(configuration.mparticle.workspaceFeed.name))")
        if configuration.mparticle.apps.isEmpty {
            lines.append("  apps: {}")
        } else {
            lines.append("  apps:")
            for (app, feed) in configuration.mparticle.apps.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(quote(app)): \(feed.rawValue)")
            }
        }
        lines.append("  events:")
        lines.append("    include: [\(configuration.mparticle.include.map(quote).joined(separator: ", "))]")
        lines.append("    exclude: [\(configuration.mparticle.exclude.map(quote).joined(separator: ", "))]")
        lines.append("    unknown_types: \(quote(configuration.mparticle.unknownTypes.rawValue))")
        lines.append("delivery:")
        lines.append("  linger_ms: \(configuration.delivery.lingerMs)")
        lines.append("  max_in_flight_requests_per_feed: \(configuration.delivery.maxInFlightRequestsPerFeed)")
        lines.append("  max_in_flight_messages: \(configuration.delivery.maxInFlightMessages)")
        lines.append("  max_in_flight_bytes: \(configuration.delivery.maxInFlightBytes)")
        lines.append("  retry_base_ms: \(configuration.delivery.retryBaseMs)")
        lines.append("  retry_max_ms: \(configuration.delivery.retryMaxMs)")
        lines.append("  request_timeout_ms: \(configuration.delivery.requestTimeoutMs)")
        lines.append("  auth_probe_interval_ms: \(configuration.delivery.authProbeIntervalMs)")
        lines.append("  max_batches_per_second_per_feed: \(configuration.delivery.maxBatchesPerSecondPerFeed)")
        lines.append("  dedup: \(quote(configuration.delivery.dedup.rawValue))")
        lines.append("dead_letter:")
        lines.append("  topic: \(quote(configuration.deadLetter.topic))")
        let seconds = configuration.deadLetter.maxAge.components.seconds
        lines.append("  max_age: \(quote(seconds % 3600 == 0 ? "\(seconds / 3600)h" : "\(seconds)s"))")
        lines.append("http:")
        lines.append("  port: \(configuration.http.port)")
        lines.append("  ready_max_blocked: \(quote("\(configuration.http.readyMaxBlocked.milliseconds / 1000)s"))")
        return lines.joined(separator: "\n") + "\n"
    }
}
