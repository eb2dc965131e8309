import Currents
import Testing
@testable import Relay

/// An event with only the fields routing reads.
struct RoutedEvent: EventFieldReading {
    var platform: String?
    var appID: String?

    func string(_ key: FieldKey) -> String? {
        switch key {
        case .platform: platform
        case .appID: appID
        default: nil
        }
    }

    func bool(_ key: FieldKey) -> Bool? { nil }
}

@Suite struct FeedRouterTests {
    /// Every set of credentialed feeds, in `Feed.allCases` order of bits.
    static let feedSets: [Set<Feed>] = (0..<16).map { bits in Set(Feed.allCases.filter { bits & 1 << $0.ordinal != 0 }) }
    static let events: [RoutedEvent] = ["ios", "iOS", "tvos", "android", "kindle", "web", "roku", "windows", nil].flatMap { platform in
        [RoutedEvent(platform: platform, appID: nil), RoutedEvent(platform: platform, appID: "app-web"),
         RoutedEvent(platform: platform, appID: "app-unknown")]
    }

    /// SPEC §3 as a set lookup: the platform's feed, else the app's, else Unbound; a feed without
    /// credentials falls back to Unbound, and without Unbound the event has no feed.
    static func expected(_ event: RoutedEvent, configured: Set<Feed>, apps: [String: Feed]) -> Feed? {
        let preferred = event.platform.flatMap { Feed.forPlatform($0.lowercased()) } ?? event.appID.flatMap { apps[$0] } ?? .unbound
        if configured.contains(preferred) { return preferred }
        return configured.contains(.unbound) ? .unbound : nil
    }

    @Test func routesAsTheSpecSaysForEverySetOfCredentialedFeeds() {
        let apps: [String: Feed] = ["app-web": .web]
        var checked = 0
        for feeds in Self.feedSets {
            let router = FeedRouter(configuredFeeds: feeds, apps: apps)
            #expect(router.configuredFeeds == feeds, "the set reads back from its bits")
            for event in Self.events {
                #expect(router.route(event) == Self.expected(event, configured: feeds, apps: apps), "\(feeds.sorted()) \(event)")
                checked += 1
            }
        }
        #expect(checked == 16 * 27)
    }

    /// `configuredFeeds` is a public `var`: changing it after `init` changes the routing.
    @Test func followsAChangeToTheConfiguredFeeds() {
        var router = FeedRouter(configuredFeeds: [.ios, .unbound], apps: [:])
        let ios = RoutedEvent(platform: "ios", appID: nil)
        #expect(router.route(ios) == .ios)
        router.configuredFeeds.remove(.ios)
        #expect(router.route(ios) == .unbound)
        router.configuredFeeds = [.android]
        #expect(router.route(ios) == nil)
        #expect(router.route(RoutedEvent(platform: "android", appID: nil)) == .android)
    }
}
