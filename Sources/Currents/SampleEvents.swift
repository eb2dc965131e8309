import Foundation

/// Realistic Currents records for the demo, the tests and the benchmark: several event types,
/// every platform, and some users without an external id. Deterministic for a given seed.
public struct SampleEvents: Sendable {
    /// A generated record: its value (a Custom HTTP envelope) and what the relay should do with it.
    public struct Record: Sendable {
        public var id: String
        public var eventType: String
        /// ios, android, web, or nil for platform-less events.
        public var platform: String?
        public var externalUserID: String?
        public var value: [UInt8]
        public var key: [UInt8]
    }

    static let pushTypes = [
        "users.messages.pushnotification.Send", "users.messages.pushnotification.Open",
        "users.messages.pushnotification.Bounce", "users.messages.inappmessage.Impression",
    ]
    static let platformless = [
        "users.messages.email.Send", "users.messages.email.Delivery", "users.messages.email.Open",
        "users.messages.email.Click", "users.messages.sms.Delivery", "users.canvas.Entry",
        "users.messages.webhook.Send",
    ]
    static let platforms = ["ios", "android", "web"]

    public var seed: UInt64
    /// Share of users without an external id, in percent.
    public var anonymousPercent: Int
    /// Epoch seconds for `time`; events are spread over the minute before it.
    public var baseTime: Int64

    public init(seed: UInt64 = 42, anonymousPercent: Int = 5, baseTime: Int64 = Int64(Date().timeIntervalSince1970)) {
        self.seed = seed
        self.anonymousPercent = anonymousPercent
        self.baseTime = baseTime
    }

    public func records(count: Int) -> [Record] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { index in record(index: index, generator: &generator) }
    }

    func record(index: Int, generator: inout SplitMix64) -> Record {
        let roll = Int(generator.next() % 100)
        let withPlatform = roll < 55
        let eventType = withPlatform
            ? Self.pushTypes[Int(generator.next() % UInt64(Self.pushTypes.count))]
            : Self.platformless[Int(generator.next() % UInt64(Self.platformless.count))]
        let platform = withPlatform ? Self.platforms[Int(generator.next() % 3)] : nil
        let userNumber = Int(generator.next() % 2000)
        let anonymous = Int(generator.next() % 100) < anonymousPercent
        let externalUserID = anonymous ? nil : "user-\(userNumber)"
        let id = Self.uuid(&generator)
        let time = baseTime - Int64(generator.next() % 60)

        var user: [String: Any] = ["user_id": String(format: "%024llx", generator.next() & 0xFFFF_FFFF_FFFF), "timezone": "America/New_York"]
        if let externalUserID { user["external_user_id"] = externalUserID }
        var properties: [String: Any] = [
            "app_group_id": "app-group-1", "campaign_id": "campaign-\(index % 17)", "campaign_name": "Winter Sale \(index % 17)",
            "message_variation_id": "variation-\(index % 3)", "send_id": "send-\(index % 101)", "dispatch_id": "dispatch-\(index)",
        ]
        if let platform {
            user["device_id"] = "device-\(userNumber)-\(platform)"
            properties["platform"] = platform
            properties["app_id"] = "app-\(platform)"
            properties["os_version"] = platform == "ios" ? "iOS 17.1" : (platform == "android" ? "Android 14" : "Chrome 120")
            properties["device_model"] = platform == "ios" ? "iPhone15,3" : (platform == "android" ? "Pixel 8" : "Desktop")
            properties["ad_id"] = Self.uuid(&generator)
            properties["ad_id_type"] = platform == "ios" ? "ios_idfa" : "google_ad_id"
            properties["ad_tracking_enabled"] = generator.next() % 2 == 0
        }
        if eventType.contains(".email.") {
            properties["email_address"] = "user\(userNumber)@example.com"
            properties["ip_pool"] = "pool-a"
            properties["esp"] = "sendgrid"
            properties["from_domain"] = "mail.example.com"
            if eventType.hasSuffix("Click") { properties["url"] = "https://example.com/sale?u=\(userNumber)"; properties["link_id"] = "link-1" }
        }
        if eventType.contains(".sms.") {
            properties["to_phone_number"] = "+1555\(String(format: "%07d", userNumber))"
            properties["from_phone_number"] = "+15550000000"
            properties["subscription_group_id"] = "sms-group-1"
        }
        let envelope: [String: Any] = ["event_type": eventType, "id": id, "time": time, "user": user, "properties": properties]
        let value = (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])).map { Array($0) } ?? []
        return Record(id: id, eventType: eventType, platform: platform, externalUserID: externalUserID, value: value,
                      key: Array((externalUserID ?? id).utf8))
    }

    static func uuid(_ generator: inout SplitMix64) -> String {
        let high = generator.next()
        let low = generator.next()
        let hex = String(format: "%016llx%016llx", high, low)
        let characters = Array(hex)
        return "\(String(characters[0..<8]))-\(String(characters[8..<12]))-4\(String(characters[13..<16]))-a\(String(characters[17..<20]))-\(String(characters[20..<32]))"
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
