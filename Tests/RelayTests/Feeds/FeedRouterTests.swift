import Currents
import Testing
import MParticle
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

@Suite(.timeLimit(.minutes(10))) struct FeedRouterTests {
    /// Every set of credentialed feeds, in `Feed.allCases` order of bits.
    static let feedSets: [Set<Feed>] = (0..<16).map { bits in Set(Feed.allCases.filter { bits & 1 << $0.ordinal != 0 }) }
    static let events: [RoutedEvent] = ["ios", "iOS", "tvos", "android", "kindle", "web", "roku", "windows", nil].flatMap { platform in
        [RoutedEvent(platform: platform, appID: nil), RoutedEvent(platform: platform, appID: "app-web"),
         RoutedEvent(platform: platform, appID: "app-unknown")]
    }

    /// SPEC §3 with app-level inputs, as a set lookup: the app's input, else the platform's feed,
    /// else Unbound; a feed without credentials falls back to Unbound, and without Unbound the
    /// event has no feed.
    static func expected(_ event: RoutedEvent, configured: Set<Feed>, apps: [String: Feed]) -> Feed? {
        let preferred = event.appID.flatMap { apps[$0] } ?? event.platform.flatMap { Feed.forPlatform($0.lowercased()) } ?? .unbound
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

    // MARK: named inputs (app-level and workspace-level credentials)

    static let credentials = FeedCredentials(key: "k-ios", secret: "s")

    /// A workspace with two iOS apps: a phone app on the built-in `ios` input, a tablet app on its
    /// own `ios-tablet` input, and a workspace-level `unbound`.
    static func twoIOSApps(sharedKey: Bool = false, workspaceFeed: String = "unbound") throws -> (FeedCatalog, FeedRouter) {
        let catalog = FeedCatalog(uniqueNamed: [("ios-tablet", .ios), ("ws", .unbound)])
        let tablet = try #require(catalog.feed(named: "ios-tablet"))
        let ws = try #require(catalog.feed(named: "ws"))
        let feeds: [Feed: FeedCredentials] = [
            .ios: credentials, .unbound: FeedCredentials(key: "k-unbound", secret: "s"), ws: FeedCredentials(key: "k-ws", secret: "s"),
            tablet: sharedKey ? credentials : FeedCredentials(key: "k-tablet", secret: "s"),
        ]
        let router = FeedRouter(catalog: catalog, credentials: feeds, apps: ["app-phone": .ios, "app-tablet": tablet],
                                workspaceFeed: try #require(catalog.feed(named: workspaceFeed)))
        return (catalog, router)
    }

    @Test func twoIOSAppsReachTheirOwnInputs() throws {
        let (catalog, router) = try Self.twoIOSApps()
        let tablet = try #require(catalog.feed(named: "ios-tablet"))
        #expect(tablet.ordinal == 4 && catalog.feeds.count == 6, "named inputs follow the built-in four, in name order")
        #expect(router.route(RoutedEvent(platform: "ios", appID: "app-tablet")) == tablet)
        #expect(router.route(RoutedEvent(platform: "ios", appID: "app-phone")) == .ios)
        // The app's input wins over the platform field.
        #expect(router.route(RoutedEvent(platform: "android", appID: "app-tablet")) == tablet)
        // An unmapped iOS event reaches the built-in ios input; no platform and no mapped app,
        // the workspace-level input.
        #expect(router.route(RoutedEvent(platform: "ios", appID: "app-other")) == .ios)
        #expect(router.route(RoutedEvent(platform: nil, appID: "app-other")) == .unbound)
        #expect(router.route(RoutedEvent(platform: "roku", appID: nil)) == .unbound)
    }

    @Test func theWorkspaceFeedTakesEventsNotTiedToAnAppAndTheFallback() throws {
        let (catalog, router) = try Self.twoIOSApps(workspaceFeed: "ws")
        let ws = try #require(catalog.feed(named: "ws"))
        #expect(router.route(RoutedEvent(platform: nil, appID: nil)) == ws)
        #expect(router.route(RoutedEvent(platform: "roku", appID: nil)) == ws)
        // android has no credentials here: its events fall back to the workspace-level input.
        #expect(router.route(RoutedEvent(platform: "android", appID: nil)) == ws)
        #expect(router.route(RoutedEvent(platform: "ios", appID: nil)) == .ios)
    }

    @Test func inputsSharingAKeySendAsTheFirstOfThem() throws {
        let (catalog, router) = try Self.twoIOSApps(sharedKey: true)
        let tablet = try #require(catalog.feed(named: "ios-tablet"))
        #expect(router.route(RoutedEvent(platform: "ios", appID: "app-tablet")) == .ios, "one key is one mParticle input: one batcher")
        #expect(router.configuredFeeds.contains(tablet))
        let shared = FeedRouter.sharedKeys(catalog: catalog, credentials: [.ios: Self.credentials, tablet: Self.credentials])
        #expect(shared == [tablet: .ios])
    }
}
