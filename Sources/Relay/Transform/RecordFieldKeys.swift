import Currents

/// The record fields the relay reads by name, each named once: the plan (header parts), the
/// fields it moves to the header (`MovedFields`) and the direct transcoder's own keys.
/// (`external_user_id`, `platform` and `app_id` are `Currents`' own.)
extension FieldKey {
    static let emailAddress = FieldKey("email_address")
    static let toPhoneNumber = FieldKey("to_phone_number")
    static let userPhoneNumber = FieldKey("user_phone_number")
    static let deviceID = FieldKey("device_id")
    static let deviceModel = FieldKey("device_model")
    static let adID = FieldKey("ad_id")
    static let adIDType = FieldKey("ad_id_type")
    static let adTrackingEnabled = FieldKey("ad_tracking_enabled")
    static let id = FieldKey("id")
    static let time = FieldKey("time")
    static let cardID = FieldKey("card_id")
    static let contentCardID = FieldKey("content_card_id")
    static let sourceRequestID = FieldKey("source_request_id")
}
