/// One of the four mParticle feed inputs Braze's export uses.
public enum Feed: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case ios
    case android
    case web
    case unbound

    public var description: String { rawValue }

    /// The feed's position in `allCases`.
    public var ordinal: Int {
        switch self {
        case .ios: 0
        case .android: 1
        case .web: 2
        case .unbound: 3
        }
    }

    public static func < (lhs: Feed, rhs: Feed) -> Bool { lhs.ordinal < rhs.ordinal }

    /// By position: the default for a raw-value enum built the raw value's `String` and hashed
    /// its bytes for every lookup in a dictionary keyed by feed.
    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    /// The feed of a Currents `platform` value (SPEC §3).
    public static func forPlatform(_ platform: String) -> Feed? {
        switch platform.lowercased() {
        case "ios", "tvos": return .ios
        case "android", "kindle": return .android
        case "web": return .web
        case "roku": return .unbound
        default: return nil
        }
    }
}
