import MParticle
import Relay

/// One mParticle input the run asks about: its credentials, and the configured inputs that share
/// its key (one mParticle input, so asked about once, under the first of them).
public struct InputToCheck: Sendable, Equatable {
    /// The input's name under `mparticle.feeds`.
    public var name: String
    public var credentials: FeedCredentials
    /// The later inputs with the same key, by name.
    public var sharing: [String]

    public init(name: String, credentials: FeedCredentials, sharing: [String] = []) {
        self.name = name
        self.credentials = credentials
        self.sharing = sharing
    }

    /// Every input with credentials, in the relay's order (the built-in four first, then by name),
    /// each key once (`FeedRouter.sharedKeys` decides who goes first, as the relay does).
    public static func all(_ settings: RelayConfiguration.MParticleSettings) -> [InputToCheck] {
        let shared = settings.sharedKeys
        return settings.feeds.keys.sorted().compactMap { feed in
            guard shared[feed] == nil, let credentials = settings.feeds[feed] else { return nil }
            let sharing = shared.filter { $0.value == feed }.keys.sorted().map(\.name)
            return InputToCheck(name: feed.name, credentials: credentials, sharing: sharing)
        }
    }
}
