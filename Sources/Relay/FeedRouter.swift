import Currents
import MParticle

/// Chooses the feed of an event (SPEC.md §3): its platform, else its app in the `apps` map, else
/// Unbound; a platform feed without credentials falls back to Unbound.
public struct FeedRouter: Sendable {
    public var configuredFeeds: Set<Feed> {
        didSet { configured = Self.bits(configuredFeeds) }
    }
    public var apps: [String: Feed]
    /// `configuredFeeds` as one bit per feed (`Feed.ordinal`): `route` runs once per event, and
    /// `Set.contains` hashed the feed every time.
    private var configured: UInt8

    public init(configuredFeeds: Set<Feed>, apps: [String: Feed]) {
        self.configuredFeeds = configuredFeeds
        self.apps = apps
        configured = Self.bits(configuredFeeds)
    }

    private static func bits(_ feeds: Set<Feed>) -> UInt8 {
        feeds.reduce(0) { $0 | 1 << $1.ordinal }
    }

    /// A credentialed feed (in `configuredFeeds`).
    func isConfigured(_ feed: Feed) -> Bool {
        configured & 1 << feed.ordinal != 0
    }

    /// The feed to send to, or nil when no configured feed can take the event.
    public func route<Event: EventFieldReading>(_ event: Event) -> Feed? {
        let preferred: Feed
        if let platform = event.platform, let feed = Feed.forPlatform(platform) {
            preferred = feed
        } else if let appID = event.appID, let feed = apps[appID] {
            preferred = feed
        } else {
            preferred = .unbound
        }
        if isConfigured(preferred) { return preferred }
        return isConfigured(.unbound) ? .unbound : nil
    }
}
