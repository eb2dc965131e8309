import MParticle

/// Every mParticle input a relay knows, by position: the four built-in ones (`ios`, `android`,
/// `web`, `unbound`, at 0 to 3, configured or not) and then the named entries of
/// `mparticle.feeds`, in name order.
///
/// Braze models credentials per app and per workspace: an app-level input takes only its app's
/// events, the workspace-level one everything not tied to an app. Two iOS apps therefore mean two
/// iOS entries, each with its own key; the catalogue is where both get a `Feed`.
public struct FeedCatalog: Sendable, Equatable {
    /// One input: its feed and what kind of input it is.
    public struct Entry: Sendable, Equatable {
        public var feed: Feed
        public var platform: FeedPlatform
    }

    /// By position (`Feed.ordinal`).
    public let entries: [Entry]

    /// The built-in four only: today's configurations, and every test that does not name entries.
    public static let builtIn = FeedCatalog(uniqueNamed: [])

    /// The built-in four, then `named` (names other than the built-in ones, which the caller has
    /// checked for uniqueness) sorted by name.
    public init(uniqueNamed named: [(name: String, platform: FeedPlatform)]) {
        var entries = FeedPlatform.allCases.map { Entry(feed: $0.builtInFeed, platform: $0) }
        for (name, platform) in named.sorted(by: { $0.name < $1.name }) {
            entries.append(Entry(feed: Feed(name: name, ordinal: entries.count), platform: platform))
        }
        self.entries = entries
    }

    /// Every feed, in position order.
    public var feeds: [Feed] { entries.map(\.feed) }

    /// The feed named `name` exactly, or nil.
    public func feed(named name: String) -> Feed? {
        entries.first { $0.feed.name == name }?.feed
    }

    /// `credentials` keyed by another catalogue's feeds (a reloaded file's), moved onto this
    /// catalogue's feeds of the same name, and the names this catalogue does not have. Another
    /// catalogue numbers its entries afresh: one named input added before another shifts that
    /// one's position, so matching by position would hand its credentials to the wrong feed.
    public func matchingByName(_ credentials: [Feed: FeedCredentials]) -> (matched: [Feed: FeedCredentials], unknown: [String]) {
        var matched: [Feed: FeedCredentials] = [:]
        var unknown: [String] = []
        for (feed, pair) in credentials {
            if let own = self.feed(named: feed.name) { matched[own] = pair } else { unknown.append(feed.name) }
        }
        return (matched, unknown.sorted())
    }

    /// The kind of input `feed` is.
    public func platform(of feed: Feed) -> FeedPlatform {
        entries[feed.ordinal].platform
    }
}
