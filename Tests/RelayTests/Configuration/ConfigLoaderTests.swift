import Foundation
import MParticle
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct ConfigLoaderTests {
    let files: ConfigFiles

    init() throws {
        files = try ConfigFiles()
    }

    func write(_ text: String) throws -> String {
        try files.write(text)
    }

    func loadError(_ text: String, environment: [String: String] = [:]) async throws -> String {
        let path = try write(text)
        do {
            _ = try await ConfigLoader.load(path: path, environment: environment)
        } catch let error as ConfigError {
            return error.message
        }
        Issue.record("expected a configuration error")
        return ""
    }

    /// The simulator's published demo secrets (config/relay.local.yaml) are not guarded: a fresh
    /// clone's file is mode 644 and every command of the README's local run warned about it. Any
    /// other value at the same key still is.
    @Test func theSimulatorsPublicDemoSecretsAreNotWarnedAbout() async throws {
        let demo = try write("mparticle:\n  feeds:\n    ios: { key: \"demo-ios-key\", secret: \"demo-ios-secret\" }\n    web: { key: \"demo-web-key\", secret: \"demo-web-secret\" }\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: demo)
        let quiet = try await ConfigLoader.load(path: demo, environment: [:])
        #expect(!quiet.warnings.contains { $0.contains("holds secrets") }, "\(quiet.warnings)")

        let mixed = try write("mparticle:\n  feeds:\n    ios: { key: \"demo-ios-key\", secret: \"demo-web-secret\" }\n    web: { key: \"demo-web-key\", secret: \"demo-web-secret\" }\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: mixed)
        let warned = try await ConfigLoader.load(path: mixed, environment: [:])
        #expect(warned.warnings.contains { $0.contains("holds secrets (mparticle.feeds.ios.secret)") }, "\(warned.warnings)")
    }

    @Test func readsEveryKeyWithEnvironmentOverrides() async throws {
        let path = try write("""
        name: "my-relay"
        kafka:
          bootstrap_servers: "broker:9092"
          group_id: "g"
          topics: ["a", "^braze\\\\..*"]
          properties:
            security.protocol: SASL_SSL
            sasl.password: "from-file"
        mparticle:
          base_url: "http://127.0.0.1:8080"
          environment: development
          identity: other
          feeds:
            ios: { key: "ios-key", secret: "ios-secret" }
            unbound: { key: "u-key" }
          apps: { "app-1": android }
          events: { include: ["users.messages.*"], exclude: ["users.messages.sms.*"] }
        delivery:
          linger_ms: 50
          max_in_flight_requests_per_feed: 2
        dead_letter:
          topic: dlq
          max_age: 36h
        http:
          port: 9000
        """)
        let configuration = try await ConfigLoader.load(path: path, environment: [
            "CURRENTS_RELAY_MPARTICLE_FEEDS_UNBOUND_SECRET": "u-secret",
            "CURRENTS_RELAY_DELIVERY_LINGER_MS": "75",
            "CURRENTS_RELAY_KAFKA_PROPERTIES_SASL_PASSWORD": "from-env",
            "UNRELATED": "x",
        ])
        #expect(configuration.name == "my-relay")
        #expect(configuration.kafka.bootstrapServers == "broker:9092")
        #expect(configuration.kafka.topics == ["a", "^braze\\..*"])
        #expect(configuration.kafka.properties["security.protocol"] == "SASL_SSL")
        #expect(configuration.kafka.properties["sasl.password"] == "from-env")
        #expect(configuration.mparticle.environment == .development)
        #expect(configuration.mparticle.identity == "other")
        #expect(configuration.mparticle.feeds[.ios]?.secret == "ios-secret")
        #expect(configuration.mparticle.feeds[.unbound]?.secret == "u-secret")
        #expect(configuration.mparticle.apps == ["app-1": .android])
        #expect(configuration.mparticle.exclude == ["users.messages.sms.*"])
        #expect(configuration.delivery.lingerMs == 75)
        #expect(configuration.delivery.maxInFlightRequestsPerFeed == 2)
        #expect(configuration.deadLetter.maxAge == .seconds(36 * 3600))
        #expect(configuration.http.port == 9000)
        let printed = ConfigPrinter.render(configuration)
        #expect(!printed.contains("ios-secret") && !printed.contains("u-secret") && !printed.contains("from-env"))
        #expect(printed.contains("<redacted>"))
    }

    @Test func anEmptyFileGivesTheDefaults() async throws {
        let configuration = try await ConfigLoader.load(path: try write(""), environment: [:])
        #expect(configuration.kafka.topics == ["braze.currents"])
        #expect(configuration.delivery.lingerMs == 250)
        #expect(configuration.deadLetter.maxAge == .seconds(48 * 3600))
    }

    /// A record cap raised without the byte cap (or a byte cap lowered under it) is named in a
    /// warning with the byte cap that would let it hold; the defaults and a matched pair are quiet.
    @Test func aRecordCapTheByteCapCannotHoldIsAWarning() async throws {
        let raised = try await ConfigLoader.load(path: try write("delivery:\n  max_in_flight_messages: 100000\n"), environment: [:])
        let warning = try #require(raised.warnings.first { $0.contains("max_in_flight_bytes") }, "\(raised.warnings)")
        #expect(warning.contains("671 bytes for each") && warning.contains("at least 102400000"), "\(warning)")
        let lowered = try await ConfigLoader.load(path: try write(""), environment: ["CURRENTS_RELAY_DELIVERY_MAX_IN_FLIGHT_BYTES": "8388608"])
        #expect(lowered.warnings.contains { $0.contains("279 bytes for each of delivery.max_in_flight_messages (30000)") }, "\(lowered.warnings)")
        let defaults = try await ConfigLoader.load(path: try write(""), environment: [:])
        #expect(!defaults.warnings.contains { $0.contains("max_in_flight_bytes") }, "\(defaults.warnings)")
        let matched = try await ConfigLoader.load(path: try write("delivery:\n  max_in_flight_messages: 100000\n  max_in_flight_bytes: 102400000\n"), environment: [:])
        #expect(!matched.warnings.contains { $0.contains("max_in_flight_bytes") }, "\(matched.warnings)")
    }

    /// The pipeline's own defaults (tests and tools build it without a configuration) are the
    /// configuration's: an empty file and `RelayPipeline.Settings()` run the same pipeline.
    @Test func thePipelinesDefaultsAreTheConfigurationsDefaults() async throws {
        let configured = RelayPipeline.Settings(try await ConfigLoader.load(path: try write(""), environment: [:]))
        let plain = RelayPipeline.Settings()
        #expect(plain.lingerMs == configured.lingerMs && plain.maxInFlightRequestsPerFeed == configured.maxInFlightRequestsPerFeed)
        #expect(plain.maxInFlightMessages == configured.maxInFlightMessages && plain.maxInFlightMessages == 30_000)
        #expect(plain.maxInFlightBytes == configured.maxInFlightBytes)
        #expect(plain.maxAge == configured.maxAge && plain.authProbeInterval == configured.authProbeInterval)
    }

    @Test func errorsNameTheKeyAndTheProblem() async throws {
        #expect(try await loadError("kafka:\n  bootstrap: x\n").contains("unknown key kafka.bootstrap"))
        #expect(try await loadError("mparticle:\n  feeds:\n    ipad: {key: a, secret: b}\n").contains("mparticle.feeds.ipad"))
        #expect(try await loadError("mparticle:\n  feeds:\n    ios: {key: a}\n").contains("mparticle.feeds.ios: a key without a secret"))
        #expect(try await loadError("mparticle:\n  apps: {x: blackberry}\n").contains("mparticle.apps.x: unknown input \"blackberry\""))
        #expect(try await loadError("dead_letter:\n  max_age: soon\n").contains("dead_letter.max_age"))
        #expect(try await loadError("delivery:\n  linger_ms: fast\n").contains("delivery.linger_ms"))
        #expect(try await loadError("kafka:\n  topics: [\"^(unclosed\"]\n").contains("not a valid regular expression"))
        #expect(try await loadError("kafka: [\n").contains("malformed YAML"))
        #expect(try await loadError("mparticle:\n  environment: staging\n").contains("mparticle.environment"))
        #expect(try await loadError("name: x\n", environment: ["CURRENTS_RELAY_HTTP_PORT": "99999"]).contains("http.port"))
    }

    /// Named inputs: app-level credentials for a second iOS app, a workspace-level input, and
    /// the environment override of a named input's secret.
    @Test func namedInputsAppsAndTheWorkspaceFeed() async throws {
        let path = try write("""
        mparticle:
          feeds:
            ios: { key: "ios-key", secret: "ios-secret" }
            ios-tablet: { platform: ios, key: "tablet-key" }
            Workspace_1: { platform: UNBOUND, key: "ws-key", secret: "ws-secret" }
          apps: { "app-phone": ios, "app-tablet": ios-tablet, "app-tv": tvos }
          workspace_feed: Workspace_1
        """)
        let configuration = try await ConfigLoader.load(path: path, environment: ["CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_TABLET_SECRET": "tablet-secret"])
        let catalog = configuration.mparticle.catalog
        #expect(catalog.feeds.map(\.name) == ["ios", "android", "web", "unbound", "Workspace_1", "ios-tablet"])
        let tablet = try #require(catalog.feed(named: "ios-tablet"))
        let workspace = try #require(catalog.feed(named: "Workspace_1"))
        #expect(catalog.platform(of: tablet) == .ios && catalog.platform(of: workspace) == .unbound)
        #expect(configuration.mparticle.feeds[tablet] == FeedCredentials(key: "tablet-key", secret: "tablet-secret"))
        #expect(configuration.mparticle.feeds.count == 3)
        #expect(configuration.mparticle.apps == ["app-phone": .ios, "app-tablet": tablet, "app-tv": .ios])
        #expect(configuration.mparticle.workspaceFeed == workspace)
        #expect(configuration.mparticle.sharedKeys.isEmpty)
        let rendered = ConfigPrinter.render(configuration)
        #expect(rendered.contains(#"ios-tablet: { platform: "ios", key: "tablet-key", secret: "<redacted>" }"#), "\(rendered)")
        #expect(rendered.contains(#"workspace_feed: "Workspace_1""#) && !rendered.contains("tablet-secret"))
    }

    /// Today's files: the four names without `platform`, and credentials from the environment
    /// alone, load as they did.
    @Test func theBuiltInInputsNeedNoDeclaration() async throws {
        let configuration = try await ConfigLoader.load(path: try write("name: x\n"), environment: [
            "CURRENTS_RELAY_MPARTICLE_FEEDS_WEB_KEY": "w", "CURRENTS_RELAY_MPARTICLE_FEEDS_WEB_SECRET": "ws",
        ])
        #expect(configuration.mparticle.catalog == .builtIn)
        #expect(configuration.mparticle.feeds == [.web: FeedCredentials(key: "w", secret: "ws")])
        #expect(configuration.mparticle.workspaceFeed == .unbound)
    }

    /// A named input's override follows the rule of every key (swift-configuration's): `-` as `_`,
    /// and `_` where a lower-case letter meets an upper-case one. Names that share a variable are
    /// refused, by that same rule.
    @Test func aNamedInputsEnvironmentNameIsTheUsualRule() async throws {
        #expect(ConfigLoader.environmentName(ofInput: "ios-tablet") == "IOS_TABLET")
        #expect(ConfigLoader.environmentName(ofInput: "iPad2") == "I_PAD2")
        let configuration = try await ConfigLoader.load(path: try write("""
        mparticle:
          feeds:
            iPad: { platform: ios, key: "ipad-key" }
        """), environment: ["CURRENTS_RELAY_MPARTICLE_FEEDS_I_PAD_SECRET": "from-env"])
        let ipad = try #require(configuration.mparticle.catalog.feed(named: "iPad"))
        #expect(configuration.mparticle.feeds[ipad] == FeedCredentials(key: "ipad-key", secret: "from-env"))
        #expect(try await loadError("mparticle:\n  feeds:\n    aB: {platform: ios, key: a, secret: b}\n    a_b: {platform: ios, key: c, secret: d}\n")
            .contains("CURRENTS_RELAY_MPARTICLE_FEEDS_A_B_"))
    }

    /// A reload matches credentials to the running inputs by name: the reloaded file's catalogue
    /// numbers a newly added input before an existing one, which moves that one's position.
    @Test func reloadedCredentialsFollowTheirInputsName() throws {
        let running = FeedCatalog(uniqueNamed: [("tablet", .ios)])
        let reloaded = FeedCatalog(uniqueNamed: [("tablet", .ios), ("phone", .ios)])
        let runningTablet = try #require(running.feed(named: "tablet"))
        let reloadedTablet = try #require(reloaded.feed(named: "tablet"))
        let phone = try #require(reloaded.feed(named: "phone"))
        #expect(runningTablet.ordinal != reloadedTablet.ordinal, "the case this guards: positions moved")
        let rotated = FeedCredentials(key: "tablet-key", secret: "rotated")
        let (matched, unknown) = running.matchingByName([reloadedTablet: rotated, phone: FeedCredentials(key: "p", secret: "s"),
                                                         .ios: FeedCredentials(key: "i", secret: "s")])
        #expect(matched == [runningTablet: rotated, .ios: FeedCredentials(key: "i", secret: "s")])
        #expect(unknown == ["phone"])
    }

    @Test func inputsWithOneKeyAreOneFeed() async throws {
        let configuration = try await ConfigLoader.load(path: try write("""
        mparticle:
          feeds:
            ios: { key: "k", secret: "s" }
            ipad: { platform: ios, key: "k", secret: "s" }
        """), environment: [:])
        let ipad = try #require(configuration.mparticle.catalog.feed(named: "ipad"))
        #expect(configuration.mparticle.sharedKeys == [ipad: .ios])
        #expect(ConfigPrinter.render(configuration).contains("# the key of ios: one mParticle input, sent as ios"))
    }

    @Test func badInputsAreRefusedNamingTheKey() async throws {
        let feeds = "mparticle:\n  feeds:\n"
        #expect(try await loadError(feeds + "    ipad: {platform: ios, key: a, secret: b}\n  apps: {x: tablet}\n")
            .contains("mparticle.apps.x: unknown input \"tablet\" (known inputs: ios, android, web, unbound, ipad)"))
        #expect(try await loadError(feeds + "    ipad: {platform: blackberry, key: a, secret: b}\n").contains("mparticle.feeds.ipad.platform: unknown platform \"blackberry\""))
        #expect(try await loadError(feeds + "    ipad: {key: a, secret: b}\n").contains("mparticle.feeds.ipad.platform: a named input needs its platform"))
        #expect(try await loadError(feeds + "    ipad: {platform: ios, key: a, secret: b}\n    IPad: {platform: ios, key: c, secret: d}\n")
            .contains("differs from the input"))
        #expect(try await loadError(feeds + "    IOS: {platform: ios, key: a, secret: b}\n").contains("mparticle.feeds.IOS: differs from the input ios only in case"))
        #expect(try await loadError(feeds + "    ipad: {platform: ios, key: a}\n").contains("mparticle.feeds.ipad: a key without a secret (set secret, or CURRENTS_RELAY_MPARTICLE_FEEDS_IPAD_SECRET)"))
        #expect(try await loadError(feeds + "    ipad: {platform: ios}\n").contains("mparticle.feeds.ipad: an input without a key and secret"))
        #expect(try await loadError(feeds + "    ipad.x: {platform: ios, key: a, secret: b}\n").contains("may hold only letters, digits, - and _"))
        #expect(try await loadError(feeds + "    a-b: {platform: ios, key: a, secret: b}\n    a_b: {platform: ios, key: c, secret: d}\n")
            .contains("same environment name"))
        #expect(try await loadError(feeds + "    ios: {platform: android, key: a, secret: b}\n").contains("mparticle.feeds.ios.platform: the built-in input ios"))
        #expect(try await loadError(feeds + "    ios: {key: k, secret: s}\n    ipad: {platform: ios, key: k, secret: t}\n")
            .contains("mparticle.feeds.ipad: has the key of mparticle.feeds.ios with another secret"))
        #expect(try await loadError("mparticle:\n  workspace_feed: everything\n").contains("mparticle.workspace_feed: unknown input \"everything\""))
    }

    @Test func aMissingFileIsAnError() async {
        await #expect(throws: ConfigError.self) { try await ConfigLoader.load(path: "/nonexistent/relay.yaml", environment: [:]) }
    }
}
