import Currents
import MParticle

/// Chooses the feed of an event (SPEC.md §3): its platform, else its app in the `apps` map, else
/// Unbound; a platform feed without credentials falls back to Unbound.
public struct FeedRouter: Sendable {
    /// The credentialed feeds, one bit per feed (`Feed.ordinal`): `route` runs once per event,
    /// and a `Set<Feed>` hashed the feed for every lookup.
    private var configured: UInt8
    public var apps: [String: Feed]

    /// The feeds that have credentials.
    public var configuredFeeds: Set<Feed> {
        get { Set(Feed.allCases.filter(isConfigured)) }
        set { configured = Self.bits(newValue) }
    }

    public init(configuredFeeds: Set<Feed>, apps: [String: Feed]) {
        configured = Self.bits(configuredFeeds)
        self.apps = apps
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
