import Currents
import MParticle

/// The record transform's fast path: Currents bytes to mParticle bytes in one pass over a
/// `RecordIndex`, with no dictionary of fields and no `String` per attribute.
///
/// The general path (`CurrentsDecoder` → `EventMapper.map` → `EventPayload.encoded`) stays the
/// reference and takes every record this one declines (returns nil): anything but one ordinary
/// envelope or flat event, and any event mParticle's per-event limits would cut (a long name or
/// value, which `RecordIndex` declines, or more than 100 custom attributes, declined here): the
/// general path alone decides what is cut, so this one never cuts. The decisions (skip reasons,
/// feed, header) come from the same `EventMapper.plan`; only the custom attributes are written
/// here, straight from the record's bytes, in the sorted order `JSONWriter.object` writes them. A
/// differential test and the fuzzer check that both paths give the same bytes.
enum DirectTranscoder {
    /// One event the fast path read: mapped and encoded, or skipped.
    struct Event {
        var eventType: String
        /// The record's `id`: a plain ASCII string's bytes, so also its text. Kept as bytes (a
        /// slice of the record): in the default mode nothing needs it as a `String`, and one was
        /// built, copied and freed on another thread for every record.
        var id: ArraySlice<UInt8>
        /// UNIX seconds, in the decoder's range.
        var time: Int64
        var result: Result<RecordTransform.Encoded, SkipReason>
    }

    static func transcode(_ value: [UInt8], mapper: EventMapper) -> Event? {
        guard let index = RecordIndex(value), let typeField = index.eventType, !typeField.valueRange.isEmpty,
              let idField = index.field(FieldKey.id), idField.kind == .plainString, !idField.valueRange.isEmpty,
              let timeField = index.field(FieldKey.time), let time = index.integer(timeField), time >= 0, time < CurrentsDecoder.maxSeconds
        else { return nil }
        let eventType = CurrentsEventType.canonical(String(decoding: index.bytes[typeField.valueRange], as: UTF8.self))
        let id = index.bytes[idField.valueRange]
        switch mapper.plan(eventType: eventType, id: String(decoding: id, as: UTF8.self), index) {
        case .failure(let reason):
            return Event(eventType: eventType, id: id, time: time, result: .failure(reason))
        case .success(let plan):
            guard let payload = payload(index, plan, idRange: idField.valueRange, time: time) else { return nil }
            let encoded = RecordTransform.Encoded(feed: plan.feed, header: mapper.encodedHeader(plan), payload: payload, truncations: AttributeTruncations())
            return Event(eventType: eventType, id: id, time: time, result: .success(encoded))
        }
    }

    /// The encoded mParticle event, as `EventPayload.encoded()` writes the one `map` builds; nil
    /// when it would have more than `EventsAPILimits.maxCustomAttributes` custom attributes (the
    /// general path keeps which 100).
    ///
    /// `idRange` is the record's `id`, a plain string (checked by the caller): its bytes are
    /// already what `JSONWriter.string` writes, for `source_message_id` and `source_request_id`.
    static func payload(_ index: RecordIndex, _ plan: EventMapper.Plan, idRange: Range<Int>, time: Int64) -> [UInt8]? {
        let mapping = plan.mapping
        let omitted = mapping.omittedKeys
        let bytes = index.bytes

        // Two attributes are not where the record's sorted keys put them: `source_request_id`
        // (always the event id, whatever the record says) and `card_id` (renamed from
        // `content_card_id`). Both sort before most keys, so they are written when passed.
        // The renamed field wins over a record's own `card_id`.
        var card: RecordIndex.Field?
        if mapping.renameCardID, let field = index.field(FieldKey.contentCardID), field.kind != .container,
           !omitted.contains(FieldKey.contentCardID) {
            card = field
        }
        var pendingCard = card != nil
        var pendingRequestID = true
        // Attributes written, for the limit. Counted as they are written rather than checked
        // first from the field count: only the loop knows which fields are left out.
        var written = 0

        // The payload stays in memory until mParticle accepts its batch, so its spare capacity
        // is held per event in flight. On the bench's mix a payload is the record's size within
        // ±32 bytes (620 bytes on average): the record's size plus 64 fits all but 0.4 % of
        // them (which grow once). Plus 160 held ~260 unused bytes per event, ~2 MB of peak RSS.
        var writer = JSONWriter(capacity: bytes.count + 64)
        // The same opening `EventPayload.encoded()` writes for the event `map` builds: the type's
        // part copied, then the timestamp and the id.
        writer.raw(mapping.payloadHead)
        writer.int(time &* 1000)
        writer.raw(",\"source_message_id\":\"")
        writer.raw(bytes[idRange])
        writer.raw("\",\"custom_attributes\":{")
        var first = true
        // Record bytes still to write: one or more compact members (see below) that follow each
        // other in the record as they follow each other here, commas included.
        var run = 0..<0
        func flush() {
            guard !run.isEmpty else { return }
            if !first { writer.byte(UInt8(ascii: ",")) }
            writer.raw(bytes[run])
            run = 0..<0
            first = false
        }
        /// Before anything written member by member.
        func separate() {
            flush()
            if !first { writer.byte(UInt8(ascii: ",")) }
            first = false
        }
        func writeValue(_ field: RecordIndex.Field) {
            switch field.kind {
            case .plainString:
                writer.byte(UInt8(ascii: "\"")); writer.raw(bytes[field.valueRange]); writer.byte(UInt8(ascii: "\""))
            case .escapedString:
                writer.byte(UInt8(ascii: "\""))
                index.forEachUnescapedByte(field) { writer.escapedASCII($0) }
                writer.byte(UInt8(ascii: "\""))
            case .integer, .bool, .null:
                writer.raw(bytes[field.valueRange])
            case .double:
                writer.double(index.double(field)!)
            case .container:
                break
            }
        }
        func writePending(before field: RecordIndex.Field?) {
            if pendingCard, let card, field.map({ index.compare($0, FieldKey.cardID) > 0 }) ?? true {
                separate(); writer.raw("\"card_id\":"); writeValue(card)
                pendingCard = false
                written += 1
            }
            if pendingRequestID, field.map({ index.compare($0, FieldKey.sourceRequestID) > 0 }) ?? true {
                separate(); writer.raw("\"source_request_id\":\""); writer.raw(bytes[idRange]); writer.byte(UInt8(ascii: "\""))
                pendingRequestID = false
                written += 1
            }
        }

        var next = 0 // into `omitted`, walked in step with the sorted keys
        for field in index.fields where field.kind != .container {
            while next < omitted.count, index.compare(field, omitted[next]) > 0 { next += 1 }
            if next < omitted.count, index.compare(field, omitted[next]) == 0 { continue }
            if plan.moved.contains(field, in: index) { continue }
            if index.has(field, key: FieldKey.sourceRequestID) { continue }
            if card != nil, index.has(field, key: FieldKey.contentCardID) || index.has(field, key: FieldKey.cardID) { continue }
            if pendingCard || pendingRequestID { writePending(before: field) }
            written += 1
            // In a compact record the member is already what is written: `"key":"text"` for a
            // plain string (nothing but `":"` between the key and the text), `"key":12` for an
            // integer, boolean or null (nothing but `":`). Members that follow each other in the
            // record as they do here are copied as one run (a whole object, when its keys are
            // sorted, as the bench's generator writes them; otherwise still one append each).
            // Before, each member took five appends, each checking capacity and uniqueness and
            // calling memmove for a few bytes.
            let gap = field.valueStart - field.keyEnd
            let member: Range<Int>?
            switch field.kind {
            case .plainString where gap == 3: member = Int(field.keyStart) - 1..<Int(field.valueEnd) + 1
            case .integer where gap == 2, .bool where gap == 2, .null where gap == 2: member = Int(field.keyStart) - 1..<Int(field.valueEnd)
            default: member = nil
            }
            if let member {
                if !run.isEmpty, run.upperBound + 1 == member.lowerBound, bytes[run.upperBound] == UInt8(ascii: ",") {
                    run = run.lowerBound..<member.upperBound
                } else {
                    flush()
                    run = member
                }
                continue
            }
            separate()
            writer.byte(UInt8(ascii: "\""))
            writer.raw(bytes[field.keyRange])
            if field.kind == .plainString {
                writer.raw("\":\"")
                writer.raw(bytes[field.valueRange])
                writer.byte(UInt8(ascii: "\""))
            } else {
                writer.raw("\":")
                writeValue(field)
            }
        }
        writePending(before: nil)
        // Over the limit: written in vain, but such events are rare, and counting first would
        // repeat every test of the loop for each ordinary record.
        guard written <= EventsAPILimits.maxCustomAttributes else { return nil }
        flush()
        writer.raw("}}}")
        return writer.bytes
    }
}
