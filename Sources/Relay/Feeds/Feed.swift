/// One mParticle feed input the relay sends to: a name from `mparticle.feeds` and its position in
/// the relay's `FeedCatalog`.
///
/// The four inputs of Braze's export (`ios`, `android`, `web`, `unbound`) always exist, at
/// positions 0 to 3, whether or not they have credentials; named inputs (a second iOS app's
/// input, say) follow in name order. The position is what the hot path uses: the pipeline finds a
/// feed's batcher by it (`FeedTable`), and the router keeps its configured set as one flag per
/// position, so no lookup per event hashes a name.
public struct Feed: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The input's name as configured (`mparticle.feeds.<name>`): metric label, dead-letter header,
    /// log field.
    public let name: String
    /// The feed's position in its catalogue (`FeedCatalog.feeds`).
    public let ordinal: Int

    /// Only a catalogue makes feeds beyond the four built-in ones, so positions stay unique.
    init(name: String, ordinal: Int) {
        self.name = name
        self.ordinal = ordinal
    }

    public static let ios = Feed(name: "ios", ordinal: 0)
    public static let android = Feed(name: "android", ordinal: 1)
    public static let web = Feed(name: "web", ordinal: 2)
    public static let unbound = Feed(name: "unbound", ordinal: 3)

    /// The four inputs of Braze's export, in position order. A relay's full list, named inputs
    /// included, is its catalogue's `feeds`.
    public static let allCases: [Feed] = [.ios, .android, .web, .unbound]

    /// One of the four built-in inputs by its name; nil for any other name.
    public init?(rawValue: String) {
        guard let feed = Self.allCases.first(where: { $0.name == rawValue }) else { return nil }
        self = feed
    }

    /// The name (what the enum this type replaced called its raw value).
    public var rawValue: String { name }
    public var description: String { name }

    public static func < (lhs: Feed, rhs: Feed) -> Bool { lhs.ordinal < rhs.ordinal }

    /// By position alone: equal feeds have equal positions, and hashing a name for every lookup in
    /// a dictionary keyed by feed costs more than the dictionary saves.
    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    /// The built-in feed of a Currents `platform` value (SPEC §3).
    public static func forPlatform(_ platform: String) -> Feed? {
        FeedPlatform.of(currentsPlatform: platform)?.builtInFeed
    }
}
