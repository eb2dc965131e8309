/// What kind of mParticle input a feed is: one of the three act-as-platform inputs, or the
/// workspace-level (Unbound) one. Braze's export has one input of each; a configuration may have
/// several of one kind (two iOS apps, each with its own input).
public enum FeedPlatform: String, CaseIterable, Sendable {
    case ios
    case android
    case web
    case unbound

    /// The built-in input of this kind, which events of the platform go to unless their app is
    /// mapped to another input.
    public var builtInFeed: Feed {
        switch self {
        case .ios: .ios
        case .android: .android
        case .web: .web
        case .unbound: .unbound
        }
    }

    /// The kind of input a Currents `platform` value belongs to (SPEC §3): `tvos` is an iOS
    /// input's, `kindle` an Android input's, `roku` goes to the workspace-level input.
    public static func of(currentsPlatform platform: String) -> FeedPlatform? {
        switch platform.lowercased() {
        case "ios", "tvos": .ios
        case "android", "kindle": .android
        case "web": .web
        case "roku": .unbound
        default: nil
        }
    }
}
