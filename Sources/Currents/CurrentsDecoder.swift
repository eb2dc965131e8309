import Foundation

/// Why a record could not be read as Currents events. The message is meant for the dead-letter
/// header and the log, so it says what was expected.
public struct CurrentsDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads a Kafka record value as one or more Currents events. The shape is detected per record:
///
/// 1. the Custom HTTP connector envelope `{"event_type","id","time","user":{..},"properties":{..}}`;
/// 2. that connector's request body `{"events":[envelope, ...]}`;
/// 3. a flat event (fields at the top level) whose type comes from the `event_type` header or the
///    topic name.
public struct CurrentsDecoder: Sendable {
    public init() {}

    /// Decodes one record. A body of many events yields one result per event, so one bad event
    /// does not hold back the good ones.
    public func decode(value: [UInt8]?, eventTypeHeader: String?, topic: String) -> Result<[Result<CurrentsEvent, CurrentsDecodeError>], CurrentsDecodeError> {
        guard let value, !value.isEmpty else {
            return .failure(CurrentsDecodeError("empty record value (tombstone or no payload)"))
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(value)
        } catch {
            return .failure(CurrentsDecodeError("not valid JSON: \(error)"))
        }
        guard case .object(let object) = root else {
            return .failure(CurrentsDecodeError("expected a JSON object, found \(Self.kind(of: root))"))
        }
        if object["event_type"] == nil, let events = object["events"] {
            guard case .array(let elements) = events else {
                return .failure(CurrentsDecodeError("\"events\" must be an array"))
            }
            return .success(elements.enumerated().map { index, element in
                guard case .object(let envelope) = element else {
                    return .failure(CurrentsDecodeError("events[\(index)]: expected an object, found \(Self.kind(of: element))"))
                }
                return event(from: envelope, fallbackType: nil).mapError { CurrentsDecodeError("events[\(index)]: \($0.message)") }
            })
        }
        let fallback = eventTypeHeader.map(CurrentsEventType.canonical) ?? CurrentsEventType.fromTopicName(topic)
        return .success([event(from: object, fallbackType: fallback)])
    }

    /// Builds an event from an envelope or a flat object.
    func event(from object: [String: JSONValue], fallbackType: String?) -> Result<CurrentsEvent, CurrentsDecodeError> {
        var fields: [String: JSONValue] = [:]
        for (key, value) in object where key != "user" && key != "properties" && key != "device" && key != "event_type" {
            fields[key] = value
        }
        // Nested objects of the connector envelope are flattened; a nested field never overrides
        // a top-level one.
        for nested in ["user", "device", "properties"] {
            guard let value = object[nested] else { continue }
            guard case .object(let inner) = value else {
                if value == .null { continue }
                return .failure(CurrentsDecodeError("\"\(nested)\" must be an object"))
            }
            for (key, innerValue) in inner where fields[key] == nil {
                fields[key] = innerValue
            }
        }
        let declaredType = object["event_type"]?.stringValue
        guard let rawType = declaredType ?? fallbackType, !rawType.isEmpty else {
            return .failure(CurrentsDecodeError("missing event_type (not in the record, its event_type header or the topic name)"))
        }
        guard let id = fields["id"]?.scalarText, !id.isEmpty else {
            return .failure(CurrentsDecodeError("missing id"))
        }
        guard let time = fields["time"].flatMap(Self.seconds) else {
            return .failure(CurrentsDecodeError("missing or invalid time (UNIX seconds expected)"))
        }
        return .success(CurrentsEvent(eventType: CurrentsEventType.canonical(rawType), id: id, time: time, fields: fields))
    }

    /// Currents `time` is UNIX seconds; integers, integral doubles and numeric strings are accepted.
    static func seconds(_ value: JSONValue) -> Int64? {
        switch value {
        case .int(let seconds): return seconds
        case .double(let seconds) where seconds.isFinite && abs(seconds) < 1e15: return Int64(seconds)
        case .string(let text): return Int64(text) ?? Double(text).flatMap { $0.isFinite && abs($0) < 1e15 ? Int64($0) : nil }
        default: return nil
        }
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
