/// A scalar that mParticle accepts as an attribute value (no arrays, no objects).
public enum AttributeValue: Sendable, Equatable, Hashable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
}

/// mParticle's `environment` field.
public enum MParticleEnvironment: String, Sendable {
    case production
    case development
}

/// The batch-level parts that decide which events may share a batch: one user, one device.
public struct BatchHeader: Sendable, Equatable {
    public var environment: MParticleEnvironment
    public var userIdentities: [String: AttributeValue]
    public var userAttributes: [String: AttributeValue]
    public var deviceInfo: [String: AttributeValue]
    /// mParticle de-duplicates batches by this per API key for 30–60 days (the relay's
    /// `per_event` mode sets it to the Braze event id, one event per batch).
    public var sourceRequestID: String?

    public init(environment: MParticleEnvironment, userIdentities: [String: AttributeValue],
                userAttributes: [String: AttributeValue] = [:], deviceInfo: [String: AttributeValue] = [:],
                sourceRequestID: String? = nil) {
        self.sourceRequestID = sourceRequestID
        self.environment = environment
        self.userIdentities = userIdentities
        self.userAttributes = userAttributes
        self.deviceInfo = deviceInfo
    }

    /// The batch's fields before `"events"`, without braces. Equal headers give equal bytes, so
    /// the bytes double as the key that groups events into one batch.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 160)
        Self.writeOpening(into: &writer, environment: environment, sourceRequestID: sourceRequestID)
        writer.key("user_identities"); writer.object(userIdentities)
        if !userAttributes.isEmpty {
            writer.raw(","); writer.key("user_attributes"); writer.object(userAttributes)
        }
        writer.raw(","); writer.key("device_info"); writer.object(deviceInfo)
        return writer.bytes
    }
}

extension BatchHeader {
    /// The header up to its identities: `"environment":..,["source_request_id":..,]"schema_version":2,`.
    /// The relay's direct path writes the rest from its own fields and shares this part.
    public static func writeOpening(into writer: inout JSONWriter, environment: MParticleEnvironment, sourceRequestID: String?) {
        writer.key("environment"); writer.string(environment.rawValue)
        if let sourceRequestID {
            writer.raw(","); writer.key("source_request_id"); writer.string(sourceRequestID)
        }
        writer.raw(",\"schema_version\":2,")
    }
}

/// One mParticle event (`custom_event` or `uninstall`).
public struct EventPayload: Sendable, Equatable {
    public var eventType: String
    public var eventName: String?
    public var customEventType: String?
    public var timestampMs: Int64
    public var sourceMessageID: String
    public var customAttributes: [String: AttributeValue]

    public init(eventType: String, eventName: String?, customEventType: String?, timestampMs: Int64,
                sourceMessageID: String, customAttributes: [String: AttributeValue]) {
        self.eventType = eventType
        self.eventName = eventName
        self.customEventType = customEventType
        self.timestampMs = timestampMs
        self.sourceMessageID = sourceMessageID
        self.customAttributes = customAttributes
    }

    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 256 + customAttributes.count * 32)
        Self.writeOpening(into: &writer, eventType: eventType, eventName: eventName, customEventType: customEventType,
                          timestampMs: timestampMs, sourceMessageID: sourceMessageID)
        if !customAttributes.isEmpty {
            writer.raw(","); writer.key("custom_attributes"); writer.object(customAttributes)
        }
        writer.raw("}}")
        return writer.bytes
    }

    /// The event up to its custom attributes: `{"event_type":..,"data":{..,"source_message_id":".."`.
    /// The direct transcoder writes the attributes itself and shares this part, so the two
    /// encodings cannot drift apart.
    public static func writeOpening(into writer: inout JSONWriter, eventType: String, eventName: String?, customEventType: String?,
                                    timestampMs: Int64, sourceMessageID: String) {
        writeHead(into: &writer, eventType: eventType, eventName: eventName, customEventType: customEventType)
        writer.int(timestampMs)
        writer.raw(",\"source_message_id\":"); writer.string(sourceMessageID)
    }

    /// The opening up to the timestamp's value: `{"event_type":..,"data":{..,"timestamp_unixtime_ms":`.
    /// It depends only on the event's type, so the direct transcoder writes it once per type and
    /// copies it into each event (`head(...)`).
    public static func writeHead(into writer: inout JSONWriter, eventType: String, eventName: String?, customEventType: String?) {
        writer.raw("{\"event_type\":"); writer.string(eventType)
        writer.raw(",\"data\":{")
        if let eventName { writer.key("event_name"); writer.string(eventName); writer.raw(",") }
        if let customEventType { writer.key("custom_event_type"); writer.string(customEventType); writer.raw(",") }
        writer.raw("\"timestamp_unixtime_ms\":")
    }

    /// `writeHead`'s bytes.
    public static func head(eventType: String, eventName: String?, customEventType: String?) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writeHead(into: &writer, eventType: eventType, eventName: eventName, customEventType: customEventType)
        return writer.bytes
    }
}

/// An encoded batch: header bytes plus encoded events. Kept encoded so sizes are exact.
public struct EncodedBatch: Sendable {
    public var header: [UInt8]
    public var events: [[UInt8]]

    public init(header: [UInt8], events: [[UInt8]] = []) {
        self.header = header
        self.events = events
    }

    /// `{` header `,"events":[` e1,e2 `]}`
    public static let overhead = 1 + 11 + 2

    public var byteCount: Int {
        Self.overhead + header.count + events.reduce(0) { $0 + $1.count } + max(events.count - 1, 0)
    }

    public func write(into writer: inout JSONWriter) {
        write(to: &writer)
    }

    /// The one definition of a batch's bytes, for a `JSONWriter` and for the buffer a request
    /// body is written into (`RequestBody`).
    func write(to sink: inout some BatchSink) {
        sink.append(UInt8(ascii: "{"))
        sink.append(header)
        sink.append(",\"events\":[")
        for (index, event) in events.enumerated() {
            if index > 0 { sink.append(UInt8(ascii: ",")) }
            sink.append(event)
        }
        sink.append("]}")
    }
}

/// mParticle's published limits (SPEC §1).
public enum EventsAPILimits {
    public static let maxBatchBytes = 128 * 1024
    public static let maxBatchesPerRequest = 100
    public static let maxRequestBytes = 256 * 1024
    public static let maxNameLength = 256
    public static let maxAttributeValueLength = 4096
    /// Custom attributes of one event. An event over it is refused or trimmed by mParticle out of
    /// our control, so the relay keeps to it before batching (`EventMapper.map`).
    public static let maxCustomAttributes = 100
    /// User attributes of one batch. The relay sends at most `$mobile`, and only events with equal
    /// user attributes share a batch, so it cannot be passed (tested in `GroupingTests`).
    public static let maxUserAttributes = 100
}

/// The body of `POST /v2/bulkevents`: a JSON array of batches (see `RequestBody`, which the
/// relay sends).
public func bulkRequestBody(_ batches: [EncodedBatch]) -> [UInt8] {
    RequestBody(batches: batches).bytes
}
