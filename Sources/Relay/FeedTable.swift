/// One value per feed, found by the feed's position.
///
/// The pipeline's actor looks up a feed's batcher for every event. As a `[Feed: FeedBatcher]`
/// dictionary each lookup ran `Hasher` over the feed (seed, combine, finalize), ~2 % of the
/// relay's CPU; here it is an index.
struct FeedTable<Value> {
    private var values: [Value]

    init(_ make: (Feed) -> Value) {
        values = Feed.allCases.map(make)
    }

    subscript(feed: Feed) -> Value {
        get { values[feed.ordinal] }
        // In place: a batcher copied out and written back would copy its open batches.
        _modify { yield &values[feed.ordinal] }
    }

    /// The values, in `Feed.allCases` order.
    var all: [Value] { values }
}

extension FeedTable: Sendable where Value: Sendable {}
