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
}
