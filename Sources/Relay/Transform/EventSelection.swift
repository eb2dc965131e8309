/// `mparticle.events.include` / `exclude`: exact type names or globs (`users.messages.email.*`).
public struct EventSelection: Sendable {
    public let include: [String]
    public let exclude: [String]
    /// The answer for every catalogue type, decided once: the globs are not run per event.
    private let decided: [String: Bool]
    private let everything: Bool

    public init(include: [String] = ["*"], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
        everything = include.contains("*") && exclude.isEmpty
        decided = Dictionary(uniqueKeysWithValues: MappingTable.eventTypes.map { type in
            (type, include.contains { Self.matches(type, $0) } && !exclude.contains { Self.matches(type, $0) })
        })
    }

    public func selects(_ eventType: String) -> Bool {
        if everything { return true }
        if let known = decided[eventType] { return known }
        return include.contains { Self.matches(eventType, $0) } && !exclude.contains { Self.matches(eventType, $0) }
    }

    /// `*` matches any run of characters, `?` one character; everything else is literal.
    static func matches(_ text: String, _ pattern: String) -> Bool {
        let text = Array(text.utf8)
        let pattern = Array(pattern.utf8)
        var t = 0, p = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                t += 1; p += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p; mark = t; p += 1
            } else if star >= 0 {
                p = star + 1; mark += 1; t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}
