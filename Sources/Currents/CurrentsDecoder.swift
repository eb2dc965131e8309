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
            // RFC 8259 lets a reader ignore a UTF-8 byte-order mark; some producers write one.
            root = value.starts(with: [0xEF, 0xBB, 0xBF]) ? try JSONParser.parse(Array(value.dropFirst(3))) : try JSONParser.parse(value)
        } catch {
            return .failure(CurrentsDecodeError("not valid JSON: \(error)\(Self.binaryHint(value))"))
        }
        let object: [String: JSONValue]
        switch consume root {
        case .object(let dictionary): object = dictionary
        case let other: return .failure(CurrentsDecodeError("expected a JSON object, found \(Self.kind(of: other))"))
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
        // Only a record without its own `event_type` needs the header or the topic name (the
        // topic search is a Foundation string search: not for every record).
        let fallback = object["event_type"]?.stringValue == nil ? eventTypeHeader.map(CurrentsEventType.canonical) ?? CurrentsEventType.fromTopicName(topic) : nil
        return .success([event(from: object, fallbackType: fallback)])
    }

    /// Builds an event from an envelope or a flat object.
    func event(from object: consuming [String: JSONValue], fallbackType: String?) -> Result<CurrentsEvent, CurrentsDecodeError> {
        // The object becomes the fields: removing the nested objects costs less than re-inserting
        // every top-level field into a new dictionary (this runs for every event).
        var fields = object
        let declared = fields.removeValue(forKey: "event_type")
        let nestedObjects = (fields.removeValue(forKey: "user"), fields.removeValue(forKey: "device"), fields.removeValue(forKey: "properties"))
        // Nested objects of the connector envelope are flattened; a nested field never overrides
        // a top-level one, and `user` comes before `device` before `properties`.
        for (nested, value) in [("user", nestedObjects.0), ("device", nestedObjects.1), ("properties", nestedObjects.2)] {
            guard let value else { continue }
            guard case .object(let inner) = value else {
                if value == .null { continue }
                return .failure(CurrentsDecodeError("\"\(nested)\" must be an object"))
            }
            fields.merge(inner) { current, _ in current }
        }
        let declaredType = declared?.stringValue
        guard let rawType = declaredType ?? fallbackType, !rawType.isEmpty else {
            return .failure(CurrentsDecodeError("missing event_type (not in the record, its event_type header or the topic name)"))
        }
        guard let id = fields["id"]?.scalarText, !id.isEmpty else {
            return .failure(CurrentsDecodeError("missing id"))
        }
        guard let time = fields["time"].flatMap(Self.seconds) else {
            return .failure(CurrentsDecodeError("missing or invalid time (UNIX seconds expected)"))
        }
        guard time >= 0 else {
            return .failure(CurrentsDecodeError("time \(time) is negative (UNIX seconds expected)"))
        }
        guard time < Self.maxSeconds else {
            let hint = time < Self.maxSeconds &* 1000 ? "looks like milliseconds; " : ""
            return .failure(CurrentsDecodeError("time \(time) is after the year 5000: \(hint)Currents time is UNIX seconds"))
        }
        return .success(CurrentsEvent(eventType: CurrentsEventType.canonical(rawType), id: id, time: time, fields: fields))
    }

    /// 10^11 seconds is the year 5138: a larger `time` is milliseconds, microseconds or garbage,
    /// and mapping it would send a timestamp mParticle cannot use.
    public static let maxSeconds: Int64 = 100_000_000_000

    /// What a record that is not JSON looks like, for the dead-letter message: Confluent Schema
    /// Registry framing (Avro, Protobuf) is the usual culprit on a shared bus.
    static func binaryHint(_ value: [UInt8]) -> String {
        if value.count >= 5, value[0] == 0 {
            let schemaID = value[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            return "; the record starts with Confluent Schema Registry framing (magic byte 0, schema id \(schemaID)): Avro or Protobuf, not Currents JSON"
        }
        let first = value[0]
        if first >= 0x80 || (first < 0x20 && ![0x09, 0x0A, 0x0D].contains(first)) {
            return "; the record starts with byte 0x\(String(first, radix: 16, uppercase: true)): binary, not Currents JSON"
        }
        return ""
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
