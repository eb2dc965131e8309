/// Every key of the configuration file, once: the one home of the keys' names.
///
/// The loader's schema (which keys a file may hold) is derived from `all`; the loader reads each
/// key, and names it in its messages, through these constants; `ConfigPrinter` prints the keys in
/// `all`'s order; the environment variable of each is `Key.environmentVariable`; and a test holds
/// the README's configuration table to this list and to the defaults. Keys and their environment
/// variables are a user contract: a file that works today keeps working, so a key is added here,
/// never renamed.
///
/// The defaults are not written here: each key's `value` reads it from a configuration, and its
/// default is that value in `RelayConfiguration()`, whose property initialisers hold them.
enum ConfigKeys {
    /// The prefix of every key's environment variable.
    static let environmentPrefix = "CURRENTS_RELAY_"

    /// Every key, in the order `check-config` prints them and the README lists them.
    static let all: [Key] = [name] + Kafka.all + MParticle.all + Delivery.all + DeadLetter.all + HTTP.all

    static let name = Key("name", .scalar, "the integration's name: Kafka `client.id`, log and metric label, User-Agent") { .text($0.name) }

    /// `kafka`: the consumer.
    enum Kafka {
        static let bootstrapServers = Key("kafka.bootstrap_servers", .scalar, "the brokers, a comma-separated `host:port` list") {
            .text($0.kafka.bootstrapServers)
        }
        static let groupID = Key("kafka.group_id", .scalar, "the consumer group: instances with one group id share the partitions") {
            .text($0.kafka.groupID)
        }
        static let topics = Key("kafka.topics", .list, "topic names, or a regex starting with `^`") { .list($0.kafka.topics) }
        static let drainTimeoutMs = Key("kafka.drain_timeout_ms", .scalar,
                                        "on revoke, how long the revoked partitions' work may take to settle before their commit; below `session.timeout.ms`") {
            .number($0.kafka.drainTimeoutMs)
        }
        static let groupInstanceID = Key("kafka.group_instance_id", .scalar, printedWhenDefault: false,
                                         "static membership: a restart within the session timeout keeps the partitions without a rebalance") {
            $0.kafka.groupInstanceID.map(ConfigValue.text) ?? .unset
        }
        static let properties = Key("kafka.properties", .map,
                                    "passed to librdkafka as-is: `security.protocol`, `sasl.*`, `ssl.*`, `session.timeout.ms`, ...") {
            .mapping($0.kafka.properties)
        }
        static let all = [bootstrapServers, groupID, topics, drainTimeoutMs, groupInstanceID, properties]
    }

    /// `mparticle`: where events go, and which.
    enum MParticle {
        static let baseURL = Key("mparticle.base_url", .scalar, "the Events API host of your pod (`s2s.us2`, `s2s.eu1`, ...)") {
            .text($0.mparticle.baseURL)
        }
        static let insecureSkipTLSVerify = Key("mparticle.insecure_skip_tls_verify", .scalar, printedWhenDefault: false,
                                               "`true` turns TLS certificate verification off: only for a simulator on this machine (see below)") {
            .flag($0.mparticle.insecureSkipTLSVerify)
        }
        static let environment = Key("mparticle.environment", .scalar, "`production` or `development`") {
            .text($0.mparticle.environment.rawValue)
        }
        static let identity = Key("mparticle.identity", .scalar, "the identity that carries Braze's `external_user_id`") {
            .text($0.mparticle.identity)
        }
        static let feeds = Key("mparticle.feeds", .map,
                               "the inputs: `ios`, `android`, `web`, `unbound`, and any number of named inputs; see [Routing](#routing)") {
            .mapping(Dictionary(uniqueKeysWithValues: $0.mparticle.feeds.map { ($0.key.name, $0.value.key) }))
        }
        static let feedPlatform = Key("mparticle.feeds.<input>.platform", .scalar,
                                      "a named input's platform: `ios`, `android`, `web` or `unbound` (the built-in four need none)", value: nil)
        static let feedKey = Key("mparticle.feeds.<input>.key", .scalar, "the input's key", value: nil)
        static let feedSecret = Key("mparticle.feeds.<input>.secret", .scalar, secret: true,
                                    "the input's secret: keep it in the environment (`CURRENTS_RELAY_MPARTICLE_FEEDS_<INPUT>_SECRET`)", value: nil)
        static let workspaceFeed = Key("mparticle.workspace_feed", .scalar,
                                       "the workspace-level input: events not tied to an app, and the fallback of inputs without credentials") {
            .text($0.mparticle.workspaceFeed.name)
        }
        static let apps = Key("mparticle.apps", .map, "Braze `app_id` → an input's name: the app's events go there, whatever their platform says") {
            .mapping($0.mparticle.apps.mapValues(\.name))
        }
        static let include = Key("mparticle.events.include", .list, "Currents types to send: exact types or globs like `users.messages.email.*`") {
            .list($0.mparticle.include)
        }
        static let exclude = Key("mparticle.events.exclude", .list, "Currents types to leave out, same syntax") { .list($0.mparticle.exclude) }
        static let unknownTypes = Key("mparticle.events.unknown_types", .scalar,
                                      "Currents types outside the catalogue: `skip`, or `send` as custom events named after the type") {
            .text($0.mparticle.unknownTypes.rawValue)
        }
        static let all = [baseURL, insecureSkipTLSVerify, environment, identity, feeds, feedPlatform, feedKey, feedSecret,
                          workspaceFeed, apps, include, exclude, unknownTypes]
    }

    /// `delivery`: batching, concurrency, retries and the in-flight caps.
    enum Delivery {
        static let lingerMs = Key("delivery.linger_ms", .scalar, "how long a feed's batcher waits to fill a request") {
            .number($0.delivery.lingerMs)
        }
        static let maxInFlightRequestsPerFeed = Key("delivery.max_in_flight_requests_per_feed", .scalar, "concurrent HTTP requests per feed") {
            .number($0.delivery.maxInFlightRequestsPerFeed)
        }
        static let maxInFlightMessages = Key("delivery.max_in_flight_messages", .scalar,
                                             "records taken from Kafka and not yet settled: above it (or the byte cap) partitions pause; they resume at half") {
            .number($0.delivery.maxInFlightMessages)
        }
        static let maxInFlightBytes = Key("delivery.max_in_flight_bytes", .scalar, "the same cap in bytes of the encoded events held (64 MiB)") {
            .number($0.delivery.maxInFlightBytes)
        }
        static let retryBaseMs = Key("delivery.retry_base_ms", .scalar, "the first retry's delay; exponential backoff with full jitter") {
            .number($0.delivery.retryBaseMs)
        }
        static let retryMaxMs = Key("delivery.retry_max_ms", .scalar, "the longest delay between retries") { .number($0.delivery.retryMaxMs) }
        static let requestTimeoutMs = Key("delivery.request_timeout_ms", .scalar, "the timeout of one HTTP request to mParticle") {
            .number($0.delivery.requestTimeoutMs)
        }
        static let authProbeIntervalMs = Key("delivery.auth_probe_interval_ms", .scalar,
                                             "how often a feed blocked by 401/403 is probed with the current credentials") {
            .number($0.delivery.authProbeIntervalMs)
        }
        static let maxBatchesPerSecondPerFeed = Key("delivery.max_batches_per_second_per_feed", .scalar,
                                                    "the rate limiter's ceiling (mParticle's default limit); it halves on 429 and recovers on 202") {
            .number($0.delivery.maxBatchesPerSecondPerFeed)
        }
        static let dedup = Key("delivery.dedup", .scalar,
                               "`grouped` (a user's events share batches; at-least-once) or `per_event` (one batch per event: mParticle drops re-sends)") {
            .text($0.delivery.dedup.rawValue)
        }
        static let all = [lingerMs, maxInFlightRequestsPerFeed, maxInFlightMessages, maxInFlightBytes, retryBaseMs, retryMaxMs,
                          requestTimeoutMs, authProbeIntervalMs, maxBatchesPerSecondPerFeed, dedup]
    }

    /// `dead_letter`: where what cannot be delivered is parked.
    enum DeadLetter {
        static let topic = Key("dead_letter.topic", .scalar, "where expired, poison and rejected records are parked") { .text($0.deadLetter.topic) }
        static let maxAge = Key("dead_letter.max_age", .scalar,
                                "a record mParticle has not accepted within this age is parked as expired (units `ms`, `s`, `m`, `h`, `d`)") {
            .duration($0.deadLetter.maxAge, .hoursOrSeconds)
        }
        static let all = [topic, maxAge]
    }

    /// `http`: the metrics and health port.
    enum HTTP {
        static let port = Key("http.port", .scalar, "`/metrics`, `/health/live` and `/health/ready` while `run` runs; `0` turns the port off") {
            .number($0.http.port)
        }
        static let readyMaxBlocked = Key("http.ready_max_blocked", .scalar, "`/health/ready` answers 503 once a feed has been blocked this long") {
            .duration($0.http.readyMaxBlocked, .seconds)
        }
        static let all = [port, readyMaxBlocked]
    }
}
