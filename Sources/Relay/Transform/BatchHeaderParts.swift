import MParticle

/// An event's batch-level parts (identities, `$mobile`, device_info) as plain fields.
///
/// `EventMapper.plan` fills them from the record; `map` turns them into a `BatchHeader` (three
/// dictionaries), while the direct transcoder encodes them straight away, without hashing three
/// small dictionaries and sorting them again per event. Both encode to the same bytes (tested).
public struct BatchHeaderParts: Sendable, Equatable {
    public var externalUserID: String
    /// `email_address`, on the event types that send it as an identity.
    public var email: String?
    /// `user_attributes.$mobile`.
    public var mobile: String?
    /// device_info: `ios_idfv` (from `device_id`).
    public var deviceID: String?
    public var deviceModel: String?
    /// Already translated (`iOS`, `Android`, ...).
    public var platform: String?
    /// The advertising id's device_info key (`ios_advertising_id`, ...) and value.
    public var advertisingKey: String?
    public var advertisingID: String?
    public var limitAdTracking: Bool?

    public init(externalUserID: String) {
        self.externalUserID = externalUserID
    }

    /// The identities, with `email` replacing the configured identity when that is `email` too
    /// (as assigning into the dictionary did).
    func identities(identityKey: String) -> [(String, AttributeValue)] {
        var pairs: [(String, AttributeValue)] = [(identityKey, .string(externalUserID))]
        if let email {
            if identityKey == "email" { pairs[0].1 = .string(email) } else { pairs.append(("email", .string(email))) }
        }
        return pairs
    }

    func deviceInfo() -> [(String, AttributeValue)] {
        var pairs: [(String, AttributeValue)] = []
        if let deviceID { pairs.append(("ios_idfv", .string(deviceID))) }
        if let deviceModel { pairs.append(("device_model", .string(deviceModel))) }
        if let platform { pairs.append(("platform", .string(platform))) }
        if let advertisingKey, let advertisingID { pairs.append((advertisingKey, .string(advertisingID))) }
        if let limitAdTracking { pairs.append(("limit_ad_tracking", .bool(limitAdTracking))) }
        return pairs
    }

    /// The parts as the `BatchHeader` the general path encodes.
    public func header(environment: MParticleEnvironment, identityKey: String, sourceRequestID: String?) -> BatchHeader {
        BatchHeader(environment: environment,
                    userIdentities: Dictionary(identities(identityKey: identityKey), uniquingKeysWith: { $1 }),
                    userAttributes: mobile.map { ["$mobile": .string($0)] } ?? [:],
                    deviceInfo: Dictionary(deviceInfo(), uniquingKeysWith: { $1 }),
                    sourceRequestID: sourceRequestID)
    }

    /// The same bytes as `header(...).encoded()`, without the dictionaries, and without the
    /// arrays of pairs `JSONWriter.object(pairs:)` would sort: every key but two is fixed, so
    /// the sorted order is written out here (once per event, on the hot path).
    public func encoded(environment: MParticleEnvironment, identityKey: String, sourceRequestID: String?) -> [UInt8] {
        encoded(Opening(environment: environment, identityKey: identityKey), sourceRequestID: sourceRequestID)
    }

    /// What starts every header of one mapper: the same for every event (the environment and the
    /// identity key are configuration), so it is encoded once, not key by key for every event.
    public struct Opening: Sendable {
        public let environment: MParticleEnvironment
        public let identityKey: String
        /// `"environment":…,"schema_version":2,"user_identities":{`, when there is no `source_request_id`.
        let start: [UInt8]
        /// `"<identityKey>":`
        let identityKeyBytes: [UInt8]

        public init(environment: MParticleEnvironment, identityKey: String) {
            self.environment = environment
            self.identityKey = identityKey
            var writer = JSONWriter(capacity: 96)
            BatchHeaderParts.writeStart(into: &writer, environment: environment, sourceRequestID: nil)
            start = writer.bytes
            var key = JSONWriter(capacity: 32)
            key.key(identityKey)
            identityKeyBytes = key.bytes
        }
    }

    private static func writeStart(into writer: inout JSONWriter, environment: MParticleEnvironment, sourceRequestID: String?) {
        BatchHeader.writeOpening(into: &writer, environment: environment, sourceRequestID: sourceRequestID)
        writer.key("user_identities")
        writer.byte(UInt8(ascii: "{"))
    }

    /// `encoded(environment:identityKey:sourceRequestID:)` with the opening encoded already.
    public func encoded(_ opening: Opening, sourceRequestID: String?) -> [UInt8] {
        let identityKey = opening.identityKey
        var writer = JSONWriter(capacity: 192)
        if let sourceRequestID {
            Self.writeStart(into: &writer, environment: opening.environment, sourceRequestID: sourceRequestID)
        } else {
            writer.raw(opening.start)
        }
        if let email, identityKey != "email" {
            let emailFirst = "email" < identityKey
            writer.key(emailFirst ? "email" : identityKey); writer.string(emailFirst ? email : externalUserID)
            writer.byte(UInt8(ascii: ","))
            writer.key(emailFirst ? identityKey : "email"); writer.string(emailFirst ? externalUserID : email)
        } else {
            writer.raw(opening.identityKeyBytes); writer.string(identityKey == "email" ? email ?? externalUserID : externalUserID)
        }
        // Literals merged across parts: each append is a call and a capacity check, per event.
        if let mobile {
            writer.raw("},\"user_attributes\":{\"$mobile\":"); writer.string(mobile)
        }
        writer.raw("},\"device_info\":{")
        // The fixed keys in sorted order; the advertising id's key (one of a table) goes before
        // the first fixed key it sorts before.
        var first = true
        var advertising = advertisingKey.flatMap { key in advertisingID.map { (key, $0) } }
        func separate() {
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
        }
        func writeAdvertising(before key: String?) {
            guard let (adKey, adID) = advertising, key.map({ adKey < $0 }) ?? true else { return }
            separate(); writer.key(adKey); writer.string(adID)
            advertising = nil
        }
        writeAdvertising(before: "device_model")
        if let deviceModel { separate(); writer.raw("\"device_model\":"); writer.string(deviceModel) }
        writeAdvertising(before: "ios_idfv")
        if let deviceID { separate(); writer.raw("\"ios_idfv\":"); writer.string(deviceID) }
        writeAdvertising(before: "limit_ad_tracking")
        if let limitAdTracking { separate(); writer.raw(limitAdTracking ? "\"limit_ad_tracking\":true" : "\"limit_ad_tracking\":false") }
        writeAdvertising(before: "platform")
        if let platform { separate(); writer.raw("\"platform\":"); writer.string(platform) }
        writeAdvertising(before: nil)
        writer.byte(UInt8(ascii: "}"))
        return writer.bytes
    }
}
