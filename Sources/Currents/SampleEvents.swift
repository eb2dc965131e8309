import Foundation

/// Realistic Currents records for the demo, the tests and the benchmark: all 50 catalogue types
/// with the fields SPEC.md §5 lists for each family, every platform, and some users without an
/// external id. Deterministic for a given seed.
public struct SampleEvents: Sendable {
    /// A generated record: its value (a Custom HTTP envelope) and what the relay should do with it.
    public struct Record: Sendable {
        public var id: String
        public var eventType: String
        /// ios, android or web for device-carrying events; nil otherwise.
        public var platform: String?
        public var appID: String?
        public var externalUserID: String?
        public var value: [UInt8]
        public var key: [UInt8]
    }

    /// Every type of the catalogue (SPEC.md §4), by family.
    public static let allTypes: [String] = [
        "users.behaviors.Uninstall", "users.behaviors.subscription.GlobalStateChange", "users.behaviors.subscriptiongroup.StateChange",
        "users.campaigns.Abort", "users.campaigns.Conversion", "users.campaigns.EnrollInControl",
        "users.canvas.Abort", "users.canvas.Conversion", "users.canvas.Entry", "users.canvas.exit.MatchedAudience",
        "users.canvas.exit.PerformedEvent", "users.canvas.experimentstep.Conversion", "users.canvas.experimentstep.SplitEntry",
        "users.messages.contentcard.Abort", "users.messages.contentcard.Click", "users.messages.contentcard.Dismiss",
        "users.messages.contentcard.Impression", "users.messages.contentcard.Send",
        "users.messages.email.Abort", "users.messages.email.Bounce", "users.messages.email.Click", "users.messages.email.Delivery",
        "users.messages.email.MarkAsSpam", "users.messages.email.Open", "users.messages.email.Send", "users.messages.email.SoftBounce",
        "users.messages.email.Unsubscribe",
        "users.messages.inappmessage.Abort", "users.messages.inappmessage.Click", "users.messages.inappmessage.Impression",
        "users.messages.pushnotification.Abort", "users.messages.pushnotification.Bounce", "users.messages.pushnotification.Open",
        "users.messages.pushnotification.Send",
        "users.messages.sms.Abort", "users.messages.sms.CarrierSend", "users.messages.sms.Delivery", "users.messages.sms.DeliveryFailure",
        "users.messages.sms.InboundReceive", "users.messages.sms.Rejection", "users.messages.sms.Send", "users.messages.sms.ShortLinkClick",
        "users.messages.webhook.Abort", "users.messages.webhook.Send",
        "users.messages.whatsapp.Abort", "users.messages.whatsapp.Delivery", "users.messages.whatsapp.Failure",
        "users.messages.whatsapp.InboundReceive", "users.messages.whatsapp.Read", "users.messages.whatsapp.Send",
    ]

    /// Types that carry a device (and so a platform).
    static func carriesDevice(_ type: String) -> Bool {
        type.contains(".inappmessage.") || type.contains(".pushnotification.")
            || ["users.messages.contentcard.Click", "users.messages.contentcard.Dismiss", "users.messages.contentcard.Impression"].contains(type)
    }

    static let platforms = ["ios", "android", "web"]

    public var seed: UInt64
    /// Share of users without an external id, in percent.
    public var anonymousPercent: Int
    /// Users are drawn from this many.
    public var users: Int
    /// Epoch seconds for `time`; events are spread over the minute before it.
    public var baseTime: Int64
    /// Restrict to these types (default: all 50, uniformly).
    public var types: [String]

    /// When set, half of the iOS users use a second iOS app with this `app_id` (a tablet app with
    /// an input of its own in mParticle, as the demo shows); the others keep `app-ios`.
    public var tabletAppID: String?

    /// The `app_id` of a user's app on `platform`.
    func appID(platform: String, user: Int) -> String {
        if platform == "ios", let tabletAppID, user % 2 == 1 { return tabletAppID }
        return "app-\(platform)"
    }

    /// When set, users are drawn from a Zipf distribution with this exponent (a few users send most
    /// events, as in real traffic) and anonymity is a property of the user, not of the event.
    public let zipfExponent: Double?
    /// Cumulative Zipf probabilities by user rank.
    private let zipfCDF: [Double]

    public init(seed: UInt64 = 42, anonymousPercent: Int = 5, users: Int = 2000,
                baseTime: Int64 = Int64(Date().timeIntervalSince1970), types: [String] = SampleEvents.allTypes,
                zipfExponent: Double? = nil) {
        self.zipfExponent = zipfExponent
        if let exponent = zipfExponent {
            var cumulative: [Double] = []
            cumulative.reserveCapacity(max(1, users))
            var total = 0.0
            for rank in 1...max(1, users) {
                total += 1 / pow(Double(rank), exponent)
                cumulative.append(total)
            }
            zipfCDF = cumulative.map { $0 / total }
        } else {
            zipfCDF = []
        }
        self.seed = seed
        self.anonymousPercent = anonymousPercent
        self.users = max(1, users)
        self.baseTime = baseTime
        self.types = types
    }

    public func records(count: Int) -> [Record] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { index in record(index: index, generator: &generator) }
    }

    /// The same records as `records(count:)`, one at a time (a million need not be held at once).
    public func forEachRecord(count: Int, _ body: (Record) async throws -> Void) async rethrows {
        var generator = SplitMix64(seed: seed)
        for index in 0..<count { try await body(record(index: index, generator: &generator)) }
    }

    /// A user number: uniform, or by Zipf rank.
    func drawUser(_ generator: inout SplitMix64) -> Int {
        let draw = generator.next()
        guard !zipfCDF.isEmpty else { return Int(draw % UInt64(users)) }
        let unit = Double(draw >> 11) / Double(1 << 53)
        var low = 0
        var high = zipfCDF.count - 1
        while low < high {
            let middle = (low + high) / 2
            if zipfCDF[middle] < unit { low = middle + 1 } else { high = middle }
        }
        return low
    }

    func record(index: Int, generator: inout SplitMix64) -> Record {
        // Walk the types in order first so that even a small sample holds every type.
        let eventType = index < types.count ? types[index] : types[Int(generator.next() % UInt64(types.count))]
        let userNumber = drawUser(&generator)
        let eventDraw = Int(generator.next() % 100)
        // With Zipf users, whether a user has an external id is the user's own (a stable hash).
        let anonymous = zipfExponent == nil ? eventDraw < anonymousPercent
            : Int(((UInt64(userNumber) &* 0x9E37_79B9_7F4A_7C15) >> 32) % 100) < anonymousPercent
        let externalUserID = anonymous ? nil : "user-\(userNumber)"
        let id = Self.uuid(&generator)
        let time = baseTime - Int64(generator.next() % 60)
        let platform = Self.carriesDevice(eventType) ? Self.platforms[userNumber % 3] : nil

        var user: [String: Any] = ["user_id": String(format: "5f%022llx", generator.next() & 0xFFFF_FFFF_FFFF), "timezone": "America/New_York"]
        if let externalUserID { user["external_user_id"] = externalUserID }
        user["device_id"] = "device-\(userNumber)-\(platform ?? "ios")"
        var p: [String: Any] = ["app_group_id": "app-group-1", "send_id": "send-\(index % 101)", "dispatch_id": "dispatch-\(index)"]
        if eventType.contains(".canvas.") || index % 2 == 0 {
            p["canvas_id"] = "canvas-\(index % 7)"; p["canvas_name"] = "Onboarding \(index % 7)"
            p["canvas_variation_id"] = "cv-\(index % 2)"; p["canvas_step_id"] = "step-\(index % 5)"; p["canvas_step_name"] = "Step \(index % 5)"
        } else {
            p["campaign_id"] = "campaign-\(index % 17)"; p["campaign_name"] = "Winter Sale \(index % 17)"
            p["message_variation_id"] = "variation-\(index % 3)"; p["message_variation_name"] = "Variant \(index % 3)"
        }
        var appID: String?
        if let platform {
            appID = self.appID(platform: platform, user: userNumber)
            p["app_id"] = appID
            p["platform"] = platform
            p["os_version"] = platform == "ios" ? "iOS 17.1" : (platform == "android" ? "Android 14" : "Chrome 120")
            p["device_model"] = platform == "ios" ? "iPhone15,3" : (platform == "android" ? "Pixel 8" : "Desktop")
            // A device's advertising id and tracking choice are the device's, not the event's.
            var deviceGenerator = SplitMix64(seed: UInt64(userNumber) &* 31 &+ seed)
            p["ad_id"] = Self.uuid(&deviceGenerator)
            p["ad_id_type"] = platform == "ios" ? "ios_idfa" : "google_ad_id"
            p["ad_tracking_enabled"] = userNumber % 4 != 0
        }
        if eventType == "users.behaviors.Uninstall" {
            appID = self.appID(platform: Self.platforms[userNumber % 3], user: userNumber)
            p["app_id"] = appID
        }
        if eventType.contains(".contentcard.") { p["content_card_id"] = "card-\(index % 9)" }
        if eventType.hasSuffix(".Abort") || eventType.hasSuffix("_abort") {
            p["abort_type"] = "liquid_abort_message"; p["abort_log"] = "aborted by liquid"
        }
        if eventType.hasSuffix(".Conversion") {
            p["conversion_behavior_index"] = Int(generator.next() % 3); p["conversion_behavior"] = "{\"type\":\"purchase\"}"
        }
        if eventType.hasSuffix("canvas.Entry") || eventType.hasSuffix("SplitEntry") { p["in_control_group"] = generator.next() % 5 == 0 }
        if eventType.contains(".email.") {
            p["email_address"] = "user\(userNumber)@example.com"; p["ip_pool"] = "pool-a"; p["esp"] = "sendgrid"; p["from_domain"] = "mail.example.com"
            if eventType.hasSuffix("Open") || eventType.hasSuffix("Click") {
                p["user_agent"] = "Mozilla/5.0"; p["machine_open"] = "false"; p["is_amp"] = false; p["device_class"] = "desktop"
                p["device_os"] = "macOS"; p["browser"] = "Safari"; p["mailbox_provider"] = "Gmail"; p["device_model"] = "Mac"
            }
            if eventType.hasSuffix("Click") {
                p["url"] = "https://example.com/sale?u=\(userNumber)"; p["link_id"] = "link-1"; p["link_alias"] = "hero"
                p["is_suspected_bot_click"] = false; p["suspected_bot_click_reason"] = ["none"]
            }
        }
        if eventType.contains(".sms.") || eventType.contains(".whatsapp.") {
            let phone = "+1555\(String(format: "%07d", userNumber))"
            if eventType.hasSuffix("InboundReceive") || eventType.hasSuffix("ShortLinkClick") {
                p["user_phone_number"] = phone; p["inbound_phone_number"] = "+15550000000"; p["action"] = "reply"
                p["message_body"] = "YES"; p["media_urls"] = ["https://example.com/a.jpg"]
            } else {
                p["to_phone_number"] = phone; p["from_phone_number"] = "+15550000000"
            }
            p["subscription_group_id"] = "sms-group-1"
            if eventType.contains(".sms.") { p["category"] = "marketing"; p["is_sms_fallback"] = false }
            if eventType.hasSuffix("DeliveryFailure") || eventType.hasSuffix("Rejection") { p["error"] = "unreachable"; p["provider_error_code"] = "30003" }
            if eventType.contains(".whatsapp.") { p["message_id"] = "wamid-\(index)"; p["template_name"] = "promo"; p["flow_id"] = "flow-1"; p["bsuid"] = "bsu-1" }
            if eventType.hasSuffix("whatsapp.Failure") { p["provider_error_code"] = "131026"; p["provider_error_title"] = "undeliverable" }
        }
        if eventType.contains("subscription") {
            p["subscription_status"] = "Subscribed"; p["subscription_group_id"] = "group-1"; p["channel"] = "email"
            p["state_change_source"] = "SDK"; p["channel_identifier"] = "user\(userNumber)@example.com"
            p["email_address"] = "user\(userNumber)@example.com"; p["phone_number"] = "+15551234567"
        }
        if eventType.contains(".exit.") { p["canvas_api_id"] = "legacy"; p["canvas_step_api_id"] = "legacy" }
        if eventType.contains(".pushnotification.Open") { p["button_action_type"] = "URI"; p["button_string"] = "Open" }
        if eventType.contains(".inappmessage.Abort") { p["browser"] = "Chrome"; p["carrier"] = "T-Mobile"; p["resolution"] = "1080x1920"; p["version"] = "1" }
        p["sending_ip"] = "10.0.0.\(index % 250)"

        let envelope: [String: Any] = ["event_type": eventType, "id": id, "time": time, "user": user, "properties": p]
        var value: [UInt8] = []
        value.reserveCapacity(1024)
        Self.writeJSON(envelope, into: &value)
        return Record(id: id, eventType: eventType, platform: platform, appID: appID, externalUserID: externalUserID, value: value,
                      key: Array((externalUserID ?? id).utf8))
    }

    static func uuid(_ generator: inout SplitMix64) -> String {
        let high = generator.next()
        let low = generator.next()
        let hex = Array(String(format: "%016llx%016llx", high, low))
        return "\(String(hex[0..<8]))-\(String(hex[8..<12]))-4\(String(hex[13..<16]))-a\(String(hex[17..<20]))-\(String(hex[20..<32]))"
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// For a test that draws at random: seeded from `CURRENTS_RELAY_TEST_SEED` when it is set,
    /// else at random, and the seed is printed with `label`, so a failing draw can be run again.
    public static func reproducible(_ label: String) -> SplitMix64 {
        let given = ProcessInfo.processInfo.environment["CURRENTS_RELAY_TEST_SEED"]
        let seed = given.flatMap(UInt64.init) ?? .random(in: 0...UInt64.max)
        if let given, UInt64(given) == nil {
            print("\(label): CURRENTS_RELAY_TEST_SEED=\(given) is not a whole number from 0 to \(UInt64.max); drawing a seed instead")
        }
        print("\(label): seed \(seed) (CURRENTS_RELAY_TEST_SEED=\(seed) draws the same)")
        return SplitMix64(seed: seed)
    }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SampleEvents {
    /// Compact JSON with keys sorted by code point: deterministic, and far cheaper than
    /// JSONSerialization's locale-aware key sorting (`seed` writes a million of these).
    static func writeJSON(_ value: Any, into out: inout [UInt8]) {
        switch value {
        case let text as String:
            writeString(text, into: &out)
        case let flag as Bool:
            out += Array((flag ? "true" : "false").utf8)
        case let number as Int:
            out += Array(String(number).utf8)
        case let number as Int64:
            out += Array(String(number).utf8)
        case let number as Double:
            out += Array(String(number).utf8)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                writeJSON(object[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeJSON(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            out += Array("null".utf8)
        }
    }

    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case ..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
