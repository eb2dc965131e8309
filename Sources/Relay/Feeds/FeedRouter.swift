import Currents
import MParticle

/// Chooses the input an event is sent to.
///
/// - An event whose `app_id` is in `mparticle.apps` goes to that app's input, whatever its
///   platform field says (app-level credentials).
/// - Otherwise its platform's built-in input (`ios`/`tvos` → `ios`, `android`/`kindle` →
///   `android`, `web` → `web`); `roku` and events without a platform go to the workspace-level
///   input (`mparticle.workspace_feed`, `unbound` unless configured otherwise).
/// - An input without credentials falls back to the workspace-level input; without that too, the
///   event has no feed (skipped as `no_feed`, SPEC §3).
/// - Inputs that share a key are one mParticle input: their events all go to the first of them
///   (by position), so they share one batcher and one rate limit and nothing is sent twice.
public struct FeedRouter: Sendable {
    /// Per position (`Feed.ordinal`), the feed that sends this input's events: the input itself,
    /// the first input sharing its key, or nil when it has no credentials. `route` runs once per
    /// event, so this is an array lookup rather than a set or dictionary hashed per event.
    private var targets: [Feed?]
    /// Every input, by position (the catalogue's feeds): the pipeline keeps a batcher for each.
    let feeds: [Feed]
    public var apps: [String: Feed]
    /// Where events not tied to an app go, and what an input without credentials falls back to.
    public let workspaceFeed: Feed

    /// The built-in four inputs, those in `configuredFeeds` with credentials of their own.
    public init(configuredFeeds: Set<Feed>, apps: [String: Feed]) {
        feeds = Feed.allCases
        targets = Feed.allCases.map { configuredFeeds.contains($0) ? $0 : nil }
        self.apps = apps
        workspaceFeed = .unbound
    }

    /// Routing for `catalog`'s inputs with `credentials`: inputs with the same key send as the
    /// first of them.
    public init(catalog: FeedCatalog, credentials: [Feed: FeedCredentials], apps: [String: Feed], workspaceFeed: Feed = .unbound) {
        let shared = Self.sharedKeys(catalog: catalog, credentials: credentials)
        feeds = catalog.feeds
        targets = catalog.feeds.map { feed in credentials[feed] == nil ? nil : shared[feed] ?? feed }
        self.apps = apps
        self.workspaceFeed = workspaceFeed
    }

    /// The inputs that share a key with an earlier one (by position), each with that earlier one.
    public static func sharedKeys(catalog: FeedCatalog, credentials: [Feed: FeedCredentials]) -> [Feed: Feed] {
        var firstByKey: [String: Feed] = [:]
        var shared: [Feed: Feed] = [:]
        for feed in catalog.feeds {
            guard let key = credentials[feed]?.key else { continue }
            if let first = firstByKey[key] { shared[feed] = first } else { firstByKey[key] = feed }
        }
        return shared
    }

    /// The inputs with credentials (those that share a key included). Setting it gives each of
    /// them its own batcher again (no shared keys).
    public var configuredFeeds: Set<Feed> {
        get { Set(feeds.filter { targets[$0.ordinal] != nil }) }
        set { targets = feeds.map { newValue.contains($0) ? $0 : nil } }
    }

    /// The feed that sends `feed`'s events, or nil when it has no credentials.
    func target(_ feed: Feed) -> Feed? {
        feed.ordinal < targets.count ? targets[feed.ordinal] : nil
    }

    /// The feed to send to, or nil when no configured feed can take the event.
    public func route<Event: EventFieldReading>(_ event: Event) -> Feed? {
        let preferred: Feed
        // Most configurations map no app: then no event's app_id is read or hashed.
        if !apps.isEmpty, let appID = event.appID, let feed = apps[appID] {
            preferred = feed
        } else if let platform = event.platform, let kind = FeedPlatform.of(currentsPlatform: platform), kind != .unbound {
            preferred = kind.builtInFeed
        } else {
            preferred = workspaceFeed
        }
        return target(preferred) ?? target(workspaceFeed)
    }
}
