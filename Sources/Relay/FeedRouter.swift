import Currents
import MParticle

/// Chooses the feed of an event (SPEC.md §3): its platform, else its app in the `apps` map, else
/// Unbound; a platform feed without credentials falls back to Unbound.
public struct FeedRouter: Sendable {
    public var configuredFeeds: Set<Feed>
    public var apps: [String: Feed]

    public init(configuredFeeds: Set<Feed>, apps: [String: Feed]) {
        self.configuredFeeds = configuredFeeds
        self.apps = apps
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
        if configuredFeeds.contains(preferred) { return preferred }
        return configuredFeeds.contains(.unbound) ? .unbound : nil
    }
}
