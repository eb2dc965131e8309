import MParticle
import Synchronization

/// The current credentials of every feed. Senders read it on every attempt, so replacing it
/// (a reload after a key rotation) takes effect without a restart.
public final class CredentialStore: Sendable {
    private let feeds: Mutex<[Feed: FeedCredentials]>

    public init(_ feeds: [Feed: FeedCredentials]) {
        self.feeds = Mutex(feeds)
    }

    public func credentials(for feed: Feed) -> FeedCredentials? {
        feeds.withLock { $0[feed] }
    }

    public func replace(with newFeeds: [Feed: FeedCredentials]) {
        feeds.withLock { $0 = newFeeds }
    }
}
