import Foundation

/// Checks a request body the way mParticle's Events API does (SPEC.md §1), so the relay is tested
/// against the same refusals it will meet in production.
public enum EventsAPIValidator {
    public struct Refusal: Error, Equatable, Sendable {
        public var status: Int
        public var message: String
    }

    static let customEventTypes: Set<String> = [
        "navigation", "location", "search", "transaction", "user_content", "user_preference", "social", "other", "attribution", "media",
    ]
    /// mParticle's event types (the Events API's `event_type` values).
    static let eventTypes: Set<String> = [
        "custom_event", "uninstall", "screen_view", "session_start", "session_end", "commerce_event", "crash_report", "opt_out",
        "first_run", "pre_attribution", "push_registration", "application_state_transition", "push_message",
        "network_performance", "breadcrumb", "profile", "user_attribute_change", "user_identity_change",
    ]
    static let maxRequestBytes = 256 * 1024
    static let maxBatchBytes = 128 * 1024
    static let maxBatches = 100
    /// Per-event and per-batch attribute limits (SPEC.md §1). Lengths are in characters (Swift
    /// `Character`s), as the relay counts them when it cuts.
    static let maxCustomAttributes = 100
    static let maxUserAttributes = 100
    static let maxNameLength = 256
    static let maxValueLength = 4096

    /// Validates `/v2/bulkevents` (an array of batches) or `/v2/events` (one batch).
    public static func validate(body: [UInt8], bulk: Bool, feed: String, rejectEventIDs: Set<String> = []) -> Result<(batches: Int, events: [SimulatorState.AcceptedEvent]), Refusal> {
        validateBatches(body: body, bulk: bulk, feed: feed, rejectEventIDs: rejectEventIDs).map { batches in
            (batches.count, batches.flatMap(\.events))
        }
    }

    static func validateBatches(body: [UInt8], bulk: Bool, feed: String, rejectEventIDs: Set<String>) -> Result<[SimulatorBatch], Refusal> {
        if body.count > maxRequestBytes {
            return .failure(Refusal(status: 413, message: "request is \(body.count) bytes; the limit is \(maxRequestBytes)"))
        }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            return .failure(Refusal(status: 400, message: "malformed JSON"))
        }
        let batches: [Any]
        let sizes: [Int]
        if bulk {
            guard let array = root as? [Any] else { return .failure(Refusal(status: 400, message: "expected an array of batches")) }
            guard array.count <= maxBatches else {
                return .failure(Refusal(status: 400, message: "\(array.count) batches; the limit is \(maxBatches) per request"))
            }
            batches = array
            sizes = topLevelElementSizes(body)
        } else {
            batches = [root]
            sizes = [body.count]
        }
        var accepted: [SimulatorBatch] = []
        for (index, element) in batches.enumerated() {
            var batchEvents: [SimulatorState.AcceptedEvent] = []
            guard let batch = element as? [String: Any] else {
                return .failure(Refusal(status: 400, message: "batch \(index): expected an object"))
            }
            if index < sizes.count, sizes[index] > maxBatchBytes {
                return .failure(Refusal(status: 400, message: "batch \(index): \(sizes[index]) bytes; the limit is \(maxBatchBytes)"))
            }
            guard let environment = batch["environment"] as? String, ["production", "development"].contains(environment) else {
                return .failure(Refusal(status: 400, message: "batch \(index): environment must be production or development"))
            }
            guard let identities = batch["user_identities"] as? [String: Any], !identities.isEmpty,
                  identities.values.allSatisfy({ $0 is String }) else {
                return .failure(Refusal(status: 400, message: "batch \(index): user_identities must be an object with at least one identity"))
            }
            if let userAttributes = batch["user_attributes"] {
                guard let object = userAttributes as? [String: Any] else {
                    return .failure(Refusal(status: 400, message: "batch \(index): user_attributes must be an object"))
                }
                if let problem = attributeProblem(object, limit: maxUserAttributes, what: "user attributes", per: "batch") {
                    return .failure(Refusal(status: 400, message: "batch \(index): \(problem)"))
                }
            }
            guard let events = batch["events"] as? [Any] else {
                return .failure(Refusal(status: 400, message: "batch \(index): events must be an array"))
            }
            for (eventIndex, item) in events.enumerated() {
                let place = "batch \(index) event \(eventIndex)"
                guard let event = item as? [String: Any], let type = event["event_type"] as? String,
                      let data = event["data"] as? [String: Any] else {
                    return .failure(Refusal(status: 400, message: "\(place): needs event_type and a data object"))
                }
                guard eventTypes.contains(type) else {
                    return .failure(Refusal(status: 400, message: "\(place): unknown event_type \(type)"))
                }
                var name: String?
                if type == "custom_event" {
                    guard let eventName = data["event_name"] as? String, !eventName.isEmpty, eventName.count <= 256 else {
                        return .failure(Refusal(status: 400, message: "\(place): custom_event needs event_name (≤ 256 characters)"))
                    }
                    guard let customType = data["custom_event_type"] as? String, customEventTypes.contains(customType) else {
                        return .failure(Refusal(status: 400, message: "\(place): custom_event_type missing or invalid"))
                    }
                    name = eventName
                }
                if let timestamp = data["timestamp_unixtime_ms"], !isInteger(timestamp) {
                    return .failure(Refusal(status: 400, message: "\(place): timestamp_unixtime_ms must be an integer"))
                }
                var attributeCount = 0
                if let attributes = data["custom_attributes"] {
                    guard let object = attributes as? [String: Any] else {
                        return .failure(Refusal(status: 400, message: "\(place): custom_attributes must be an object"))
                    }
                    for (key, value) in object where value is [Any] || value is [String: Any] {
                        return .failure(Refusal(status: 400, message: "\(place): custom attribute \(key) must be a scalar"))
                    }
                    if let problem = attributeProblem(object, limit: maxCustomAttributes, what: "custom attributes", per: "event") {
                        return .failure(Refusal(status: 400, message: "\(place): \(problem)"))
                    }
                    attributeCount = object.count
                }
                let messageID = data["source_message_id"] as? String
                if let messageID, rejectEventIDs.contains(messageID) {
                    return .failure(Refusal(status: 400, message: "\(place): event \(messageID) is marked to be refused"))
                }
                let timestampMs = (data["timestamp_unixtime_ms"] as? NSNumber)?.int64Value
                batchEvents.append(SimulatorState.AcceptedEvent(feed: feed, sourceMessageID: messageID, eventType: type, eventName: name,
                                                                timestampMs: timestampMs, customAttributeCount: attributeCount))
            }
            accepted.append(SimulatorBatch(sourceRequestID: batch["source_request_id"] as? String, events: batchEvents))
        }
        return .success(accepted)
    }

    /// Why an attribute object breaks the Events API's limits (too many attributes, a name over
    /// 256 characters, a string value over 4,096), or nil. mParticle refuses or trims such data
    /// out of the sender's control; the simulator refuses it, so a relay that sends it fails its tests.
    static func attributeProblem(_ attributes: [String: Any], limit: Int, what: String, per: String) -> String? {
        if attributes.count > limit {
            return "\(attributes.count) \(what); the limit is \(limit) per \(per)"
        }
        for (name, value) in attributes {
            if name.count > maxNameLength {
                return "\(what): a name of \(name.count) characters (\(name.prefix(32))…); the limit is \(maxNameLength)"
            }
            if let text = value as? String, text.count > maxValueLength {
                return "\(what): the value of \(name.prefix(64)) has \(text.count) characters; the limit is \(maxValueLength)"
            }
        }
        return nil
    }

    /// Byte sizes of the elements of a top-level JSON array, measured on the bytes as sent (the
    /// batch limit applies to what travels, not to a re-encoding).
    static func topLevelElementSizes(_ body: [UInt8]) -> [Int] {
        var sizes: [Int] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start: Int?
        for (index, byte) in body.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1 && start == nil { start = index }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if depth == 1 && start == nil { start = index }
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth == 1, let first = start { sizes.append(index - first + 1); start = nil }
                if depth == 0, let first = start { sizes.append(index - first); start = nil }
            case UInt8(ascii: ","):
                if depth == 1, let first = start { sizes.append(index - first); start = nil }
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                break
            default:
                if depth == 1 && start == nil { start = index }
            }
        }
        return sizes
    }

    static func isInteger(_ value: Any) -> Bool {
        guard !(value is String), let number = value as? NSNumber else { return false }
        return Double(number.int64Value) == number.doubleValue
    }

    /// `/v2/bulkevents/historical`: mParticle does not process a batch if any event lacks
    /// `timestamp_unixtime_ms` or is less than 72 hours old.
    static func validateHistorical(_ batches: [SimulatorBatch], nowMs: Int64) -> Refusal? {
        for (index, batch) in batches.enumerated() {
            for event in batch.events {
                guard let timestamp = event.timestampMs else {
                    return Refusal(status: 400, message: "batch \(index): historical events need timestamp_unixtime_ms")
                }
                if nowMs - timestamp < 72 * 3_600_000 {
                    return Refusal(status: 400, message: "batch \(index): historical events must be at least 72 hours old (event \(event.sourceMessageID ?? "?"))")
                }
            }
        }
        return nil
    }

    /// Batches and events in a request body by counting `"events":[` and `"event_type":`: exact for
    /// well-formed Events API bodies, and a small fraction of the cost of parsing them.
    static func countByScanning(_ body: [UInt8]) -> (batches: Int, events: Int) {
        (occurrences(of: Array("\"events\":[".utf8), in: body), occurrences(of: Array("\"event_type\":".utf8), in: body))
    }

    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard !needle.isEmpty, haystack.count >= needle.count else { return 0 }
        var count = 0
        let first = needle[0]
        // Plain indexing (no unsafe pointers outside the Kafka target): the first-byte test
        // rejects almost every position, so the inner loop rarely runs.
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var offset = 1
                while offset < needle.count, haystack[index + offset] == needle[offset] { offset += 1 }
                if offset == needle.count {
                    count += 1
                    index += needle.count
                    continue
                }
            }
            index += 1
        }
        return count
    }
}
