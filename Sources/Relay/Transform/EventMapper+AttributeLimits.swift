import MParticle

extension EventMapper {
    /// Keeps at most `EventsAPILimits.maxCustomAttributes` attributes and returns how many it
    /// left out. Kept first: `source_request_id`, then the Braze fields (`brazeFields`), then the
    /// other properties; within each, by name (String order, as the encoder sorts them), so the
    /// same event always keeps the same attributes. An event within the limit is untouched.
    static func limitCount(_ attributes: inout [String: AttributeValue]) -> Int {
        let limit = EventsAPILimits.maxCustomAttributes
        guard attributes.count > limit else { return 0 }
        func rank(_ name: String) -> Int {
            name == "source_request_id" ? 0 : (brazeFields.contains(name) ? 1 : 2)
        }
        let ranked = attributes.keys.map { (rank: rank($0), name: $0) }.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.name < $1.name }
        for left in ranked[limit...] { attributes[left.name] = nil }
        return ranked.count - limit
    }
}
