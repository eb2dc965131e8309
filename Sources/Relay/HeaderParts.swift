import MParticle

/// An event's batch-level parts (identities, `$mobile`, device_info) as plain fields.
///
/// `EventMapper.plan` fills them from the record; `map` turns them into a `BatchHeader` (three
/// dictionaries), while the direct transcoder encodes them straight away: hashing three small
/// dictionaries and sorting them again per event was about 5 % of the relay's CPU. Both encode
/// to the same bytes (tested).
public struct HeaderParts: Sendable, Equatable {
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

    /// The same bytes as `header(...).encoded()`, without the dictionaries.
    public func encoded(environment: MParticleEnvironment, identityKey: String, sourceRequestID: String?) -> [UInt8] {
        var writer = JSONWriter(capacity: 192)
        BatchHeader.writeOpening(into: &writer, environment: environment, sourceRequestID: sourceRequestID)
        writer.key("user_identities"); writer.object(pairs: identities(identityKey: identityKey))
        if let mobile {
            writer.raw(","); writer.key("user_attributes"); writer.object(pairs: [("$mobile", .string(mobile))])
        }
        writer.raw(","); writer.key("device_info"); writer.object(pairs: deviceInfo())
        return writer.bytes
    }
}
