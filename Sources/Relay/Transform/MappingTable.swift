import Currents
import MParticle

/// How Braze's own mParticle export shapes one Currents event type (SPEC.md §4), as data.
///
/// A class, made once per type: every event's plan carries its mapping, and as a struct each
/// copy retained and released its name, drops, omitted keys and payload head one by one.
public final class EventMapping: Sendable {
    /// Which device_info fields the export sends.
    public enum DeviceInfo: Sendable {
        /// `{}`
        case none
        /// DI1: `ios_idfv`.
        case idfv
        /// `ios_idfv`, `platform`.
        case idfvPlatform
        /// `ios_idfv`, `device_model`.
        case idfvModel
        /// DI7: DI8 without `device_model`.
        case di7
        /// DI8: `ios_idfv`, `device_model`, `platform`, advertising id, `limit_ad_tracking`.
        case di8
    }

    /// Where `$mobile` comes from.
    public enum Phone: Sendable {
        case none
        /// `to_phone_number`
        case recipient
        /// `user_phone_number`
        case sender
    }

    public let eventName: String?
    public let isUninstall: Bool
    public let deviceInfo: DeviceInfo
    public let emailIdentity: Bool
    public let phone: Phone
    public let drops: Set<String>
    public let renameCardID: Bool
    /// Every field that never becomes a custom attribute of this type (`EventMapper.excludedFields`
    /// and `drops`), sorted by bytes: the direct transcoder walks it in step with a record's sorted
    /// keys, and finding it here costs no lookup by type name per event.
    let omittedKeys: [FieldKey]
    /// The encoded event's opening up to the timestamp (`EventPayload.head`): the same for every
    /// event of the type, so the direct transcoder copies it instead of writing it each time.
    let payloadHead: [UInt8]

    init(eventName: String?, isUninstall: Bool = false, deviceInfo: DeviceInfo, emailIdentity: Bool = false, phone: Phone = .none,
         drops: Set<String> = [], renameCardID: Bool = false) {
        self.eventName = eventName
        self.isUninstall = isUninstall
        self.deviceInfo = deviceInfo
        self.emailIdentity = emailIdentity
        self.phone = phone
        self.drops = drops
        self.renameCardID = renameCardID
        omittedKeys = EventMapper.excludedFields.union(drops).map(FieldKey.init).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        let opening = EventMapper.opening(isUninstall: isUninstall, eventName: eventName)
        payloadHead = EventPayload.head(eventType: opening.eventType, eventName: opening.eventName, customEventType: opening.customEventType)
    }
}

/// The catalogue of supported Currents types, keyed by canonical type name.
public enum MappingTable {
    /// The deprecated `*_api_id` identifiers that Braze's payload for the two canvas exit types
    /// leaves out: all four of Braze's (`app_group_api_id` with the canvas ones; `app_group_id`
    /// stays), and the campaign ones should a record carry them.
    static let apiIDFields: Set<String> = [
        "app_group_api_id", "campaign_api_id", "canvas_api_id", "canvas_variation_api_id", "canvas_step_api_id",
        "message_variation_api_id",
    ]

    public static let entries: [String: EventMapping] = {
        func m(_ name: String?, _ device: EventMapping.DeviceInfo, email: Bool = false, phone: EventMapping.Phone = .none,
               drops: Set<String> = [], card: Bool = false, uninstall: Bool = false) -> EventMapping {
            EventMapping(eventName: name, isUninstall: uninstall, deviceInfo: device, emailIdentity: email, phone: phone, drops: drops, renameCardID: card)
        }
        let rows: [(String, EventMapping)] = [
            ("behaviors.Uninstall", m(nil, .idfv, uninstall: true)),
            ("behaviors.subscription.GlobalStateChange", m("Global Subscription State Changes", .none, email: true)),
            ("behaviors.subscriptiongroup.StateChange", m("Subscription Group State Changes", .idfv, email: true, drops: ["phone_number"])),
            ("campaigns.Abort", m("Campaign Aborts", .idfv)),
            ("campaigns.Conversion", m("Campaign Conversions", .idfv, drops: ["app_id"])),
            ("campaigns.EnrollInControl", m("Campaign Control Group Enrollments", .idfv, drops: ["app_id"])),
            ("canvas.Abort", m("Canvas Aborts", .idfv)),
            ("canvas.Conversion", m("Canvas Conversions", .idfv, drops: ["app_id"])),
            ("canvas.Entry", m("Canvas Entries", .idfv)),
            ("canvas.exit.MatchedAudience", m("Exit Matched Audiences", .none, drops: apiIDFields)),
            ("canvas.exit.PerformedEvent", m("Exit Performed Events", .none, drops: apiIDFields)),
            ("canvas.experimentstep.Conversion", m("Experiment Step Conversions", .none, drops: ["app_id"])),
            ("canvas.experimentstep.SplitEntry", m("Experiment Split Entries", .none)),
            ("messages.contentcard.Abort", m("Content Card Aborts", .idfv)),
            ("messages.contentcard.Click", m("Content Card Clicks", .di8, card: true)),
            ("messages.contentcard.Dismiss", m("Content Card Dismisses", .di8, card: true)),
            ("messages.contentcard.Impression", m("Content Card Impressions", .di8, card: true)),
            ("messages.contentcard.Send", m("Content Card Sends", .idfv, card: true)),
            ("messages.email.Abort", m("Email Aborts", .idfv, email: true)),
            ("messages.email.Bounce", m("Email Bounces", .idfv, email: true)),
            ("messages.email.Click", m("Email Clicks", .idfvModel, email: true)),
            ("messages.email.Delivery", m("Email Deliveries", .idfv, email: true)),
            ("messages.email.MarkAsSpam", m("Email Marks As Spam", .idfv, email: true)),
            ("messages.email.Open", m("Email Opens", .idfvModel, email: true)),
            ("messages.email.Send", m("Email Sends", .idfv, email: true)),
            ("messages.email.SoftBounce", m("Email Soft Bounces", .idfv, email: true)),
            ("messages.email.Unsubscribe", m("Email Unsubscribes", .idfv, email: true)),
            ("messages.inappmessage.Abort", m("In-App Message Aborts", .di8, drops: ["browser", "card_id", "carrier", "resolution", "version"])),
            ("messages.inappmessage.Click", m("In-App Message Clicks", .di8)),
            ("messages.inappmessage.Impression", m("In-App Message Impressions", .di8)),
            ("messages.pushnotification.Abort", m("Push Notification Aborts", .idfvPlatform)),
            ("messages.pushnotification.Bounce", m("Push Notification Bounces", .di7)),
            ("messages.pushnotification.Open", m("Push Notification Opens", .di8, drops: ["button_action_type", "button_string"])),
            ("messages.pushnotification.Send", m("Push Notification Sends", .di7)),
            ("messages.sms.Abort", m("SMS Aborts", .none)),
            ("messages.sms.CarrierSend", m("SMS Carrier Sends", .idfv, phone: .recipient)),
            ("messages.sms.Delivery", m("SMS Deliveries", .idfv, phone: .recipient)),
            ("messages.sms.DeliveryFailure", m("SMS Delivery Failures", .idfv, phone: .recipient)),
            ("messages.sms.InboundReceive", m("SMS Inbound Received", .none, phone: .sender)),
            ("messages.sms.Rejection", m("SMS Rejections", .idfv, phone: .recipient)),
            ("messages.sms.Send", m("SMS Sends", .idfv, phone: .recipient)),
            ("messages.sms.ShortLinkClick", m("SMS Short Link Clicks", .idfv, phone: .sender)),
            ("messages.webhook.Abort", m("Webhook Aborts", .idfv)),
            ("messages.webhook.Send", m("Webhook Sends", .idfv)),
            ("messages.whatsapp.Abort", m("WhatsApp Aborts", .idfv, phone: .recipient)),
            ("messages.whatsapp.Delivery", m("WhatsApp Deliveries", .idfv, phone: .recipient)),
            ("messages.whatsapp.Failure", m("WhatsApp Failures", .idfv, phone: .recipient)),
            ("messages.whatsapp.InboundReceive", m("WhatsApp Inbound Received", .idfv, phone: .sender)),
            ("messages.whatsapp.Read", m("WhatsApp Reads", .idfv, phone: .recipient)),
            ("messages.whatsapp.Send", m("WhatsApp Sends", .idfv, phone: .recipient)),
        ]
        return Dictionary(uniqueKeysWithValues: rows.map { ("users." + $0.0, $0.1) })
    }()

    /// The catalogue's Currents types.
    public static var eventTypes: Dictionary<String, EventMapping>.Keys { entries.keys }

    public static func mapping(for eventType: String) -> EventMapping? {
        entries[eventType]
    }
}
