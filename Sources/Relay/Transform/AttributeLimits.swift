import MParticle

/// How an attribute was cut to the Events API's per-event limits: the `kind` label of
/// `currents_relay_attributes_truncated_total`. mParticle refuses or trims an event over them out
/// of our control, so the relay cuts first and counts every cut (nothing is lost silently).
public enum TruncationKind: String, Sendable, CaseIterable {
    /// An attribute left out because the event had more than 100 custom attributes.
    case count
    /// A name cut to 256 characters.
    case nameLength = "name_length"
    /// A string value cut to 4,096 characters.
    case valueLength = "value_length"
}

/// Cuts made to one event's (or several events') custom attributes, by kind.
public struct AttributeTruncations: Sendable, Equatable {
    /// Attributes left out beyond the 100 an event may carry.
    public var count = 0
    /// Names cut to 256 characters (counted even when the cut name then loses to another
    /// attribute of the same name, or is left out: the cut was made).
    public var nameLength = 0
    /// Values of attributes sent, cut to 4,096 characters.
    public var valueLength = 0

    public init(count: Int = 0, nameLength: Int = 0, valueLength: Int = 0) {
        self.count = count
        self.nameLength = nameLength
        self.valueLength = valueLength
    }

    public var total: Int { count + nameLength + valueLength }
    public var isEmpty: Bool { total == 0 }

    public subscript(kind: TruncationKind) -> Int {
        get {
            switch kind {
            case .count: count
            case .nameLength: nameLength
            case .valueLength: valueLength
            }
        }
        set {
            switch kind {
            case .count: count = newValue
            case .nameLength: nameLength = newValue
            case .valueLength: valueLength = newValue
            }
        }
    }

    public static func += (a: inout Self, b: Self) {
        a.count += b.count
        a.nameLength += b.nameLength
        a.valueLength += b.valueLength
    }
}

extension EventMapper {
    /// The Braze fields of a mapping: every field Braze's Currents events define (SPEC.md §5,
    /// common and type-specific; the further fields of Braze's glossary the golden fixtures carry,
    /// such as `experiment_step_id`, `bounce_reason`, `button_id`, `short_url`; the catalogue's
    /// per-type drops, `card_id` as `content_card_id` is renamed, and the deprecated `*_api_id`
    /// fields). One set for all types
    /// rather than one per type: a field Braze defines is never a customer's own property, and a
    /// field the type's mapping leaves out is already gone when the limit is applied.
    ///
    /// When an event has more than 100 custom attributes, these are kept before any other
    /// property (after `source_request_id`, the mapping's own), so the fields the export is
    /// defined by survive a wide custom payload. Fewer than 100 of them can be attributes
    /// (tested), so none of them is ever cut.
    public static let brazeFields: Set<String> = [
        // Common.
        "app_group_id", "campaign_id", "campaign_name", "message_variation_id", "message_variation_name", "canvas_id", "canvas_name",
        "canvas_variation_id", "canvas_variation_name", "canvas_step_id", "canvas_step_name", "send_id", "dispatch_id",
        // Device-carrying types.
        "app_id", "platform", "device_model", "device_id", "ad_id", "ad_id_type", "ad_tracking_enabled",
        // Email.
        "email_address", "ip_pool", "esp", "from_domain", "user_agent", "machine_open", "is_amp", "device_class", "device_os", "browser",
        "mailbox_provider", "url", "link_id", "link_alias", "is_suspected_bot_click", "suspected_bot_click_reason",
        // SMS, inbound SMS.
        "to_phone_number", "from_phone_number", "subscription_group_id", "category", "error", "provider_error_code", "is_sms_fallback",
        "user_phone_number", "inbound_phone_number", "action", "message_body", "media_urls",
        // Aborts, conversions, canvas entries.
        "abort_type", "abort_log", "conversion_behavior_index", "conversion_behavior", "in_control_group",
        // Subscriptions.
        "subscription_status", "channel", "state_change_source", "channel_identifier", "phone_number",
        // WhatsApp.
        "message_id", "template_name", "flow_id", "bsuid", "provider_error_title",
        // Canvas experiment steps, bounces, in-app buttons, SMS short links, message extras.
        "experiment_step_id", "experiment_split_id", "experiment_split_name", "bounce_reason", "is_drop", "button_id", "short_url",
        "message_extras",
        // Content cards (renamed to card_id), in-app and push drops, deprecated ids.
        "content_card_id", "card_id", "carrier", "resolution", "version", "button_action_type", "button_string",
        "app_group_api_id", "campaign_api_id", "canvas_api_id", "canvas_variation_api_id", "canvas_step_api_id", "message_variation_api_id",
    ]

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

/// Decides when a cut is logged: at most once a minute per Currents event type, so a stream of
/// wide events cannot flood the log, while every type that is cut is still named (the metric
/// counts every cut; the log says which events to look at). Pure: the caller passes the time.
public struct TruncationLog: Sendable {
    /// One line to log: the type, the latest event cut, and the cuts since the type's last line.
    public struct Line: Sendable, Equatable {
        public var eventType: String
        public var feed: Feed
        public var eventID: String
        public var cuts: AttributeTruncations
        /// Events of this type cut since its last line (this one included).
        public var events: Int
    }

    struct Pending {
        var lastLoggedNs: UInt64?
        var cuts = AttributeTruncations()
        var events = 0
    }

    public let intervalNs: UInt64
    /// Event types outside the catalogue can be sent (`unknown_types: send`) and their names come
    /// from the records: past this many types, the rest share one entry, so memory stays bounded.
    static let maxTypes = 256
    static let otherTypes = "(other types)"
    private var pending: [String: Pending] = [:]

    public init(interval: Duration = .seconds(60)) {
        intervalNs = UInt64(max(0, interval.components.seconds)) * 1_000_000_000 + UInt64(max(0, interval.components.attoseconds) / 1_000_000_000)
    }

    /// Notes one event's cuts at monotonic `nowNs`; returns the line to log, if one is due.
    public mutating func note(eventType: String, feed: Feed, eventID: String, cuts: AttributeTruncations, nowNs: UInt64) -> Line? {
        guard !cuts.isEmpty else { return nil }
        let key = pending[eventType] != nil || pending.count < Self.maxTypes ? eventType : Self.otherTypes
        var entry = pending[key] ?? Pending()
        entry.cuts += cuts
        entry.events += 1
        defer { pending[key] = entry }
        if let last = entry.lastLoggedNs, nowNs &- last < intervalNs { return nil }
        let line = Line(eventType: key, feed: feed, eventID: eventID, cuts: entry.cuts, events: entry.events)
        entry = Pending(lastLoggedNs: nowNs)
        return line
    }
}
