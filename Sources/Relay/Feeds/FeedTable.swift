/// One value per feed, found by the feed's position.
///
/// The pipeline's actor looks up a feed's lane for every event: here that is an index, where a
/// `[Feed: ...]` dictionary would run `Hasher` over the feed (seed, combine, finalize) each time.
struct FeedTable<Value> {
    private var values: [Value]
    /// The feeds, in position order (a catalogue's `feeds`).
    let feeds: [Feed]

    /// A value for each of `feeds` (every input of a catalogue, in position order).
    init(feeds: [Feed] = Feed.allCases, _ make: (Feed) -> Value) {
        precondition(feeds.map(\.ordinal) == Array(feeds.indices), "a catalogue's feeds, in position order")
        self.feeds = feeds
        values = feeds.map(make)
    }

    subscript(feed: Feed) -> Value {
        get { values[feed.ordinal] }
        // In place: a batcher copied out and written back would copy its open batches.
        _modify { yield &values[feed.ordinal] }
    }

    /// The values, in position order.
    var all: [Value] { values }
}

extension FeedTable: Sendable where Value: Sendable {}
