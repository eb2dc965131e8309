import Currents
import MParticle

/// Turns Currents events into mParticle events exactly as Braze's mParticle export does
/// (SPEC.md §4). Pure: no I/O, no clock.
public struct EventMapper: Sendable {
    /// The start of every header, encoded once (`encodedHeader` runs per event). It holds the
    /// environment and the identity key, so there is one copy of each to keep in step.
    private var headerOpening: BatchHeaderParts.Opening
    public var environment: MParticleEnvironment {
        get { headerOpening.environment }
        set { headerOpening = BatchHeaderParts.Opening(environment: newValue, identityKey: identityKey) }
    }
    public var identityKey: String {
        get { headerOpening.identityKey }
        set { headerOpening = BatchHeaderParts.Opening(environment: environment, identityKey: newValue) }
    }
    public var router: FeedRouter
    public var selection: EventSelection
    public var unknownTypes: UnknownEventTypePolicy
    /// Each event in its own batch whose `source_request_id` is the Braze event id.
    public var perEventBatches = false

    /// Never sent as custom attributes.
    static let excludedFields: Set<String> = [
        "id", "time", "user_id", "external_user_id", "timezone", "os_version", "sending_ip",
        "canvas_step_message_variation_id", "event_type",
    ]

    /// Per catalogue type, every field that never becomes a custom attribute (one lookup per field).
    static let omittedByType: [String: Set<String>] = MappingTable.entries.mapValues { excludedFields.union($0.drops) }

    static let platformNames: [String: String] = [
        "ios": "iOS", "android": "Android", "web": "web", "kindle": "fire_tv", "tvos": "tvOS", "roku": "roku",
    ]

    static let advertisingIDKeys: [String: String] = [
        "ios_idfa": "ios_advertising_id", "google_ad_id": "android_advertising_id",
        "windows_ad_id": "microsoft_advertising_id", "roku_ad_id": "roku_advertising_id",
    ]

    public init(environment: MParticleEnvironment, identityKey: String, router: FeedRouter, selection: EventSelection,
                unknownTypes: UnknownEventTypePolicy = .skip) {
        self.unknownTypes = unknownTypes
        headerOpening = BatchHeaderParts.Opening(environment: environment, identityKey: identityKey)
        self.router = router
        self.selection = selection
    }

    /// Everything about an event's mapping except its custom attributes: whether it is sent at
    /// all, to which feed, and its batch-level parts. Shared by `map` and the direct transcoder,
    /// so both make the same decisions from the same fields.
    public struct Plan: Sendable {
        public var mapping: EventMapping
        public var feed: Feed
        public var parts: BatchHeaderParts
        /// Fields sent in the header instead of as custom attributes.
        public var moved: MovedFields
        /// The batch's `source_request_id` (`per_event` mode: the event id).
        public var sourceRequestID: String?
    }

    /// `id` is read only in `per_event` mode (the fast path then builds the id's `String`).
    public func plan<Event: EventFieldReading>(eventType: String, id: @autoclosure () -> String, _ event: Event) -> Result<Plan, SkipReason> {
        guard let mapping = MappingTable.mapping(for: eventType) ?? genericMapping(eventType) else {
            return .failure(.unsupportedEventType)
        }
        guard selection.selects(eventType) else { return .failure(.notSelected) }
        guard let externalUserID = event.externalUserID else { return .failure(.noExternalUserID) }
        guard let feed = router.route(event) else { return .failure(.noFeed) }

        var moved: MovedFields = []
        var parts = BatchHeaderParts(externalUserID: externalUserID)
        if mapping.emailIdentity, let email = event.string(FieldKey.emailAddress) {
            parts.email = email
            moved.insert(.emailAddress)
        }
        switch mapping.phone {
        case .recipient:
            if let phone = event.string(FieldKey.toPhoneNumber) { parts.mobile = phone; moved.insert(.toPhoneNumber) }
        case .sender:
            if let phone = event.string(FieldKey.userPhoneNumber) { parts.mobile = phone; moved.insert(.userPhoneNumber) }
        case .none:
            break
        }
        deviceInfo(mapping.deviceInfo, event, into: &parts, moved: &moved)
        return .success(Plan(mapping: mapping, feed: feed, parts: parts, moved: moved, sourceRequestID: perEventBatches ? id() : nil))
    }

    /// The plan's header as the general path carries it.
    public func header(_ plan: Plan) -> BatchHeader {
        plan.parts.header(environment: environment, identityKey: identityKey, sourceRequestID: plan.sourceRequestID)
    }

    /// The plan's header encoded, as `header(plan).encoded()` would be.
    public func encodedHeader(_ plan: Plan) -> [UInt8] {
        plan.parts.encoded(headerOpening, sourceRequestID: plan.sourceRequestID)
    }

    /// The mParticle event for a Currents type: `uninstall`, or a custom event named by the
    /// mapping. The direct transcoder writes its opening from these same parts.
    static func payload(_ mapping: EventMapping, timestampMs: Int64, id: String, attributes: [String: AttributeValue]) -> EventPayload {
        let opening = opening(isUninstall: mapping.isUninstall, eventName: mapping.eventName)
        return EventPayload(eventType: opening.eventType, eventName: opening.eventName, customEventType: opening.customEventType,
                            timestampMs: timestampMs, sourceMessageID: id, customAttributes: attributes)
    }

    /// The parts of the event's opening its type decides (`EventMapping.payloadHead` is them encoded).
    static func opening(isUninstall: Bool, eventName: String?) -> (eventType: String, eventName: String?, customEventType: String?) {
        isUninstall ? ("uninstall", nil, nil) : ("custom_event", eventName, "other")
    }

    /// The event as mParticle receives it, within the Events API's per-event limits: names over
    /// 256 characters and values over 4,096 are cut at a character boundary, and an event with
    /// more than 100 custom attributes keeps 100 (`limitCount` says which). Every cut is counted
    /// in `truncations`. An event within the limits is mapped exactly as before.
    public func map(_ event: CurrentsEvent) -> Result<MappedEvent, SkipReason> {
        let plan: Plan
        switch self.plan(eventType: event.eventType, id: event.id, event) {
        case .success(let planned): plan = planned
        case .failure(let reason): return .failure(reason)
        }
        let mapping = plan.mapping
        let moved = plan.moved
        let omitted = Self.omittedByType[event.eventType] ?? Self.excludedFields.union(mapping.drops)
        var attributes: [String: AttributeValue] = [:]
        attributes.reserveCapacity(event.fields.count + 1)
        var truncations = AttributeTruncations()
        // Values are cut after the count limit, so a value left out is not also counted as cut.
        var longValues = false
        // The renamed `content_card_id` wins over a record's own `card_id` (as in the direct transcoder).
        let renamesCard = mapping.renameCardID && !omitted.contains("content_card_id")
            && event.fields["content_card_id"].flatMap(Self.attribute) != nil
        // Names cut to the limit may collide with each other or with a name that was not cut:
        // they are placed after the loop, so the outcome never depends on dictionary order.
        var cutNames: [(original: String, name: String, value: AttributeValue)] = []
        for (name, value) in event.fields {
            if omitted.contains(name) || moved.contains(name: name) { continue }
            if renamesCard && name == "card_id" { continue }
            guard let scalar = Self.attribute(value) else { continue }
            let outputName = (mapping.renameCardID && name == "content_card_id") ? "card_id" : name
            // utf8.count is O(1) and never below the character count: count characters only when it might matter.
            if case .string(let text) = scalar, text.utf8.count > EventsAPILimits.maxAttributeValueLength { longValues = true }
            if outputName.utf8.count > EventsAPILimits.maxNameLength && outputName.count > EventsAPILimits.maxNameLength {
                cutNames.append((name, String(outputName.prefix(EventsAPILimits.maxNameLength)), scalar))
                truncations.nameLength += 1
                continue
            }
            attributes[outputName] = scalar
        }
        // A name the record spelled out wins over a cut one; among cut ones, the first in name order.
        for cut in cutNames.sorted(by: { $0.original < $1.original }) where attributes[cut.name] == nil {
            attributes[cut.name] = cut.value
        }
        attributes["source_request_id"] = .string(event.id)
        truncations.count = Self.limitCount(&attributes)
        if longValues {
            for (name, value) in attributes {
                guard case .string(let text) = value, text.utf8.count > EventsAPILimits.maxAttributeValueLength,
                      text.count > EventsAPILimits.maxAttributeValueLength else { continue }
                attributes[name] = .string(String(text.prefix(EventsAPILimits.maxAttributeValueLength)))
                truncations.valueLength += 1
            }
        }
        let payload = Self.payload(mapping, timestampMs: event.time &* 1000, id: event.id, attributes: attributes)
        return .success(MappedEvent(feed: plan.feed, header: header(plan), payload: payload, truncations: truncations))
    }

    /// The mapping for a type outside the catalogue, when configured to send those.
    func genericMapping(_ eventType: String) -> EventMapping? {
        guard unknownTypes == .send else { return nil }
        let name = eventType.count > EventsAPILimits.maxNameLength ? String(eventType.prefix(EventsAPILimits.maxNameLength)) : eventType
        return EventMapping(eventName: name, deviceInfo: .idfv)
    }

    func deviceInfo<Event: EventFieldReading>(_ set: EventMapping.DeviceInfo, _ event: Event, into parts: inout BatchHeaderParts, moved: inout MovedFields) {
        if set == .none { return }
        // device_id is also kept as a custom attribute, so it is not marked as moved.
        parts.deviceID = event.string(FieldKey.deviceID)
        let withModel = set == .di8 || set == .idfvModel
        let withPlatform = set == .di8 || set == .di7 || set == .idfvPlatform
        let withAdvertising = set == .di8 || set == .di7
        if withModel, let model = event.string(FieldKey.deviceModel) {
            parts.deviceModel = model
            moved.insert(.deviceModel)
        }
        if withPlatform, let platform = event.platform {
            parts.platform = Self.platformNames[platform] ?? platform
            moved.insert(.platform)
        }
        if withAdvertising {
            if let adID = event.string(FieldKey.adID), let type = event.string(FieldKey.adIDType), let key = Self.advertisingIDKeys[type] {
                parts.advertisingKey = key
                parts.advertisingID = adID
                moved.formUnion([.adID, .adIDType])
            }
            if let enabled = event.bool(FieldKey.adTrackingEnabled) {
                parts.limitAdTracking = !enabled
                moved.insert(.adTrackingEnabled)
            }
        }
    }

    static func attribute(_ value: JSONValue) -> AttributeValue? {
        switch value {
        case .string(let text): return .string(text)
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .array, .object: return nil
        }
    }
}
