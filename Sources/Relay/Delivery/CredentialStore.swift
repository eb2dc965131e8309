import MParticle
import NIOConcurrencyHelpers

/// The current credentials of every feed. Senders read it on every attempt, so replacing it
/// (a reload after a key rotation) takes effect without a restart.
public final class CredentialStore: Sendable {
    private let feeds: NIOLockedValueBox<[Feed: FeedCredentials]>

    public init(_ feeds: [Feed: FeedCredentials]) {
        self.feeds = NIOLockedValueBox(feeds)
    }

    public func credentials(for feed: Feed) -> FeedCredentials? {
        feeds.withLockedValue { $0[feed] }
    }

    public func replace(with newFeeds: [Feed: FeedCredentials]) {
        feeds.withLockedValue { $0 = newFeeds }
    }
}
