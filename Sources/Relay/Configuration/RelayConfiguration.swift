import Kafka
import MParticle

/// How batches are formed, and so what mParticle can de-duplicate.
public enum DedupMode: String, Sendable {
    /// Events of one user share batches (fewer batches against the 270 batches/s limit);
    /// at-least-once, each event carrying `source_message_id`.
    case grouped
    /// One event per batch with `source_request_id` = the Braze event id: mParticle drops
    /// re-sent batches (after a crash or a rebalance) for 30–60 days, so delivery is effectively once.
    case perEvent = "per_event"
}

/// The whole configuration, validated. Built by `ConfigLoader` from YAML plus environment
/// overrides; every field has the default DESIGN.md documents.
///
/// The property initialisers below are the one place the defaults are written: `ConfigKeys`
/// reads each key's default from `RelayConfiguration()`, and a test holds the README's
/// configuration table to them.
public struct RelayConfiguration: Sendable {
    /// The integration's name: Kafka `client.id`, log and metric label, User-Agent.
    public var name = "braze-to-mparticle"
    public var kafka = KafkaSettings()
    public var mparticle = MParticleSettings()
    public var delivery = DeliverySettings()
    public var deadLetter = DeadLetterSettings()
    public var http = HTTPSettings()
    /// Things the loader found worth a warning (TLS verification off, secrets in a file others can
    /// read, credentials over plain HTTP). The commands log each one at start; never a secret.
    public var warnings: [String] = []

    public init() {}

    public struct KafkaSettings: Sendable {
        public var bootstrapServers = "127.0.0.1:9092"
        public var groupID = "currents-relay"
        public var topics = ["braze.currents"]
        /// Passed to librdkafka as-is; values may be secret (sasl.password), so never printed raw.
        public var properties: [String: String] = [:]
        /// On revoke, how long in-flight work of the revoked partitions may take to settle before
        /// their offsets are committed (keep it below `session.timeout.ms`).
        public var drainTimeoutMs = 10_000
        /// Static membership (`group.instance.id`): a restart within the session timeout keeps the
        /// member's partitions without a rebalance.
        public var groupInstanceID: String?
        public init() {}
    }

    public struct MParticleSettings: Sendable {
        public var baseURL = "https://s2s.mparticle.com"
        /// Skip TLS certificate verification. Only accepted for a loopback `base_url` (the simulator
        /// with a self-signed certificate); logged loudly at every start.
        public var insecureSkipTLSVerify = false
        public var environment = MParticleEnvironment.production
        /// The identity key that carries `external_user_id`.
        public var identity = "customerid"
        /// The credentials of each input that has them (`mparticle.feeds`), inputs that share a
        /// key included (`FeedRouter` sends those as one).
        public var feeds: [Feed: FeedCredentials] = [:]
        /// Every input: the built-in four and the named ones of `mparticle.feeds`.
        public var catalog = FeedCatalog.builtIn
        /// Braze app_id to its app-level input: the app's events go there, whatever their
        /// platform field says.
        public var apps: [String: Feed] = [:]
        /// The workspace-level input: events not tied to an app, and the fallback of an input
        /// without credentials (`mparticle.workspace_feed`).
        public var workspaceFeed = Feed.unbound
        public var include = ["*"]
        public var exclude: [String] = []
        /// Currents types outside the catalogue: skipped (`unsupported_event_type`) or sent.
        public var unknownTypes = UnknownEventTypePolicy.skip
        public init() {}

        /// The router these settings describe.
        public var router: FeedRouter {
            FeedRouter(catalog: catalog, credentials: feeds, apps: apps, workspaceFeed: workspaceFeed)
        }

        /// Inputs that share a key with an earlier one, each with the input that sends for both.
        public var sharedKeys: [Feed: Feed] {
            FeedRouter.sharedKeys(catalog: catalog, credentials: feeds)
        }
    }

    public struct DeliverySettings: Sendable {
        public var lingerMs = 250
        public var maxInFlightRequestsPerFeed = 4
        /// Records taken from Kafka and not yet settled; above it, partitions are paused.
        public var maxInFlightMessages = 30_000
        public var maxInFlightBytes = 64 * 1024 * 1024
        public var retryBaseMs = 100
        public var retryMaxMs = 30_000
        public var requestTimeoutMs = 30_000
        /// How often a blocked feed (credentials refused) is probed with the current credentials.
        public var authProbeIntervalMs = 30_000
        /// The per-feed rate limiter's ceiling; it halves on 429 and recovers by steps on 202.
        public var maxBatchesPerSecondPerFeed = 270
        public var dedup = DedupMode.grouped
        public init() {}
    }

    public struct DeadLetterSettings: Sendable {
        public var topic = "braze.currents.dlq"
        public var maxAge: Duration = .seconds(48 * 3600)
        public init() {}
    }

    public struct HTTPSettings: Sendable {
        public var port = 9464
        /// `/health/ready` answers 503 once a feed has been blocked (credentials refused) this long.
        public var readyMaxBlocked: Duration = .seconds(300)
        public init() {}
    }
}
