/// One of the four mParticle feed inputs Braze's export uses.
public enum Feed: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case ios
    case android
    case web
    case unbound

    public var description: String { rawValue }

    public static func < (lhs: Feed, rhs: Feed) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

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
