import Currents
import Kafka
import MParticle

/// What one Kafka record becomes: events to send, events to park, events to skip.
///
/// This is the transform between the source and the sinks, and it is pure: no I/O, no clock reads
/// (the caller passes `wallNow`), no shared state. The pipeline applies it to every record, and
/// so do the hostile-input corpus test and the fuzzer, so what they check is what production runs.
public struct RecordTransform: Sendable {
    /// One mapped event, encoded and ready for a feed batcher.
    public struct Send: Sendable, Equatable {
        public var feed: Feed
        /// The batch-level parts (identities, device_info, ...), encoded: events with equal headers share a batch.
        public var header: [UInt8]
        /// `header`'s hash (`BatchHeaderTable.hash(of:)`), worked out here, where records are transformed
        /// in parallel, rather than in the pipeline's actor, which runs one event at a time.
        public var headerHash: Int
        /// The mParticle event, encoded.
        public var payload: [UInt8]
        /// The Braze event id (`source_message_id`) as UTF-8: on the fast path a slice of the
        /// record itself, so no `String` is built for an id that is rarely read.
        public var idBytes: ArraySlice<UInt8>
        /// The Braze event id.
        public var eventID: String { String(decoding: idBytes, as: UTF8.self) }
        /// Older than `historicalAfter`: goes to `/v2/bulkevents/historical`.
        public var historical: Bool
    }

    /// Everything one record turned into. Every event of the record is in exactly one of
    /// `sends`, `parks` or `skips` (a record that cannot be read at all is one park).
    public struct Outcome: Sendable {
        /// Inline when there is one (nearly always): no allocation per record.
        public var sends: InlineFirstArray<Send> = []
        /// Dead-letter details with `parkedMs` left at 0 for the caller to stamp.
        public var parks: [DeadLetterDetails] = []
        /// The reason and the event type of each skipped event.
        public var skips: InlineFirstArray<(reason: SkipReason, eventType: String)> = []
        /// Events read from the record (good or bad), for the `decoded` counter.
        public var decodedEvents = 0
        /// The sent events whose attributes were cut to mParticle's per-event limits (nearly
        /// always empty), with what the pipeline needs to count and log them.
        public var truncations: [Truncated] = []
        /// Where the record's age counts from (ms); nil when neither the record nor its events say.
        public var ageBaseMs: Int64?

        /// Bytes of the sends' encoded headers and payloads: what the relay holds for the record
        /// until it settles (summed here, where records are transformed in parallel).
        public var sendBytes = 0

        /// Units that must settle before the record does.
        public var unitCount: Int { sends.count + parks.count }
    }

    /// One sent event's cuts to mParticle's per-event limits: counted by feed and kind, and
    /// logged by event type.
    public struct Truncated: Sendable, Equatable {
        public var feed: Feed
        public var eventType: String
        public var eventID: String
        public var cuts: AttributeTruncations
    }

    /// One mapped event's encoded parts.
    public struct Encoded: Sendable {
        public var feed: Feed
        public var header: [UInt8]
        public var payload: [UInt8]
        public var truncations: AttributeTruncations
    }

    public var mapper: EventMapper
    /// Read ordinary records with the direct transcoder; everything else, and every record when
    /// this is off, takes the general path (the reference the transcoder is tested against).
    public var direct = true
    public var maxAgeMs: Int64
    public var historicalAfterMs: Int64
    /// Count age from when this run read the record (replay, redrive).
    public var ageFromFirstRead: Bool
    /// Dead-letter records: decode with their source topic, send only the parked event.
    public var redrive: Bool
    private let decoder = CurrentsDecoder()

    public init(mapper: EventMapper, maxAgeMs: Int64, historicalAfterMs: Int64, ageFromFirstRead: Bool = false, redrive: Bool = false) {
        self.mapper = mapper
        self.maxAgeMs = maxAgeMs
        self.historicalAfterMs = historicalAfterMs
        self.ageFromFirstRead = ageFromFirstRead
        self.redrive = redrive
    }

    /// Applies the transform to one record read at `wallNow` (UNIX ms).
    public func apply(_ message: KafkaMessage, wallNow: Int64) -> Outcome {
        var outcome = Outcome()
        guard let value = message.value, !value.isEmpty else {
            // A tombstone (compacted topics) or an empty value: there is no event to lose.
            outcome.skips.append((.emptyRecord, "-"))
            return outcome
        }
        outcome.ageBaseMs = ageFromFirstRead ? wallNow : message.timestampMs
        let historicalBefore = wallNow &- historicalAfterMs
        if direct, !redrive, let event = DirectTranscoder.transcode(value, mapper: mapper) {
            outcome.decodedEvents = 1
            if outcome.ageBaseMs == nil { outcome.ageBaseMs = event.time &* 1000 }
            if let expired = expiry(outcome.ageBaseMs, wallNow: wallNow) {
                outcome.parks.append(expired)
                return outcome
            }
            take(event.result, id: event.id, time: event.time, eventType: event.eventType, historicalBefore: historicalBefore, into: &outcome)
            return outcome
        }
        if redrive, message.header(DeadLetterHeaders.originalHeader)?.stringValue == "gone" {
            return standIn(message, value: value, historicalBefore: historicalBefore, outcome: outcome)
        }
        let topic = redrive ? (message.header(DeadLetterHeaders.topicHeader)?.stringValue ?? message.topic) : message.topic
        var decoded = decoder.decode(value: value, eventTypeHeader: message.header("event_type")?.stringValue, topic: topic)
        if redrive, let only = message.header(DeadLetterHeaders.eventIDHeader)?.stringValue, case .success(let results) = decoded {
            decoded = .success(Self.parkedEvent(only, in: results))
        }
        switch decoded {
        case .failure(let error):
            outcome.parks.append(DeadLetterDetails(reason: .poison, message: error.message, parkedMs: 0))
        case .success(let results):
            outcome.decodedEvents = results.count
            if results.isEmpty {
                outcome.skips.append((.noEvents, "-"))
                return outcome
            }
            if outcome.ageBaseMs == nil {
                outcome.ageBaseMs = results.compactMap { try? $0.get().time.multipliedReportingOverflow(by: 1000) }
                    .filter { !$0.overflow }.map(\.partialValue).min()
            }
            if let expired = expiry(outcome.ageBaseMs, wallNow: wallNow) {
                outcome.parks.append(expired)
                return outcome
            }
            let shares = results.count > 1
            for (index, result) in results.enumerated() {
                switch result {
                case .failure(let error):
                    outcome.parks.append(DeadLetterDetails(reason: .poison, message: error.message, eventID: shares ? "events[\(index)]" : nil, parkedMs: 0))
                case .success(let event):
                    let mapped = mapper.map(event).map {
                        Encoded(feed: $0.feed, header: $0.header.encoded(), payload: $0.payload.encoded(), truncations: $0.truncations)
                    }
                    take(mapped, id: ArraySlice(event.id.utf8), time: event.time, eventType: event.eventType, historicalBefore: historicalBefore, into: &outcome)
                }
            }
        }
        return outcome
    }

    /// A redriven dead-letter record parked without its source record: its value is the event's
    /// mParticle batch, sent as it is to the input named in its `currents.relay.feed` header (or
    /// the input that now sends that one's events). Parked again, as poison with the reason, when
    /// the value is not such a batch or that input is not configured: nothing is dropped.
    func standIn(_ message: KafkaMessage, value: [UInt8], historicalBefore: Int64, outcome: consuming Outcome) -> Outcome {
        var outcome = outcome
        outcome.decodedEvents = 1
        guard let parts = StandInRecord.parts(of: value) else {
            outcome.parks.append(DeadLetterDetails(
                reason: .poison, message: "parked without its source record (currents.relay.original: gone), but the value is not an mParticle batch of one event", parkedMs: 0))
            return outcome
        }
        let name = message.header(DeadLetterHeaders.feedHeader)?.stringValue ?? ""
        guard let input = mapper.router.feeds.first(where: { $0.rawValue == name }), let feed = mapper.router.target(input) else {
            outcome.parks.append(DeadLetterDetails(
                reason: .poison, message: "parked without its source record for input \"\(name.prefix(100))\", which this configuration does not send to (no such input, or no credentials)",
                eventID: parts.id, parkedMs: 0))
            return outcome
        }
        let seconds = parts.timestampMs.map { $0 / 1000 } ?? Int64.max / 1000
        take(.success(Encoded(feed: feed, header: parts.header, payload: parts.event, truncations: AttributeTruncations())),
             id: ArraySlice(parts.id.utf8), time: seconds, eventType: parts.eventType, historicalBefore: historicalBefore, into: &outcome)
        return outcome
    }

    /// The park for a record too old to send at all (parked once, whole), if it is.
    func expiry(_ ageBaseMs: Int64?, wallNow: Int64) -> DeadLetterDetails? {
        guard let base = ageBaseMs, wallNow &- base > maxAgeMs else { return nil }
        return DeadLetterDetails(
            reason: .expired, message: "record is \(DurationText.age(wallNow &- base)) old; the limit is \(DurationText.age(maxAgeMs))", parkedMs: 0)
    }

    /// Adds one mapped (or skipped) event to the outcome: a send, or a park when it is too large
    /// for any batch, or a skip.
    func take(_ mapped: Result<Encoded, SkipReason>, id: ArraySlice<UInt8>, time: Int64, eventType: String, historicalBefore: Int64, into outcome: inout Outcome) {
        switch mapped {
        case .success(let encoded):
            if EncodedBatch.overhead + encoded.header.count + encoded.payload.count > EventsAPILimits.maxBatchBytes {
                outcome.parks.append(DeadLetterDetails(
                    reason: .rejected,
                    message: "too_large: the event alone is \(encoded.header.count + encoded.payload.count) bytes; mParticle's batch limit is \(EventsAPILimits.maxBatchBytes)",
                    feed: encoded.feed, eventID: String(decoding: id, as: UTF8.self), parkedMs: 0))
            } else {
                // Counted only for events sent: a parked event's record goes to the dead-letter
                // topic as it was, so nothing of it was cut.
                if !encoded.truncations.isEmpty {
                    outcome.truncations.append(Truncated(feed: encoded.feed, eventType: eventType, eventID: String(decoding: id, as: UTF8.self),
                                                         cuts: encoded.truncations))
                }
                let millis = time.multipliedReportingOverflow(by: 1000)
                let historical = !millis.overflow && millis.partialValue < historicalBefore
                // The payload is held until mParticle accepts it: without its spare room. (The
                // header is compacted only if it opens a batch: most join one and are dropped.)
                outcome.sendBytes += encoded.header.count + encoded.payload.count
                outcome.sends.append(Send(feed: encoded.feed, header: encoded.header, headerHash: BatchHeaderTable.hash(of: encoded.header),
                                          payload: encoded.payload.compacted(), idBytes: id, historical: historical))
            }
        case .failure(let reason):
            outcome.skips.append((reason, eventType))
        }
    }

    /// The one event a per-event dead-letter record was parked for: by Braze id, or by position
    /// (`events[3]`) for an event that could not be read.
    static func parkedEvent(_ id: String, in results: [Result<CurrentsEvent, CurrentsDecodeError>]) -> [Result<CurrentsEvent, CurrentsDecodeError>] {
        if id.hasPrefix("events["), id.hasSuffix("]"), let index = Int(id.dropFirst(7).dropLast()), results.indices.contains(index) {
            return [results[index]]
        }
        let matching = results.filter { (try? $0.get().id) == id }
        return matching.isEmpty ? results : matching
    }
}

extension RecordTransform.Outcome: Equatable {
    /// Field by field (`skips` holds tuples); the fuzzer compares the two transform paths with it.
    public static func == (a: Self, b: Self) -> Bool {
        a.sends == b.sends && a.parks == b.parks && a.decodedEvents == b.decodedEvents && a.truncations == b.truncations
            && a.ageBaseMs == b.ageBaseMs
            && a.skips.elementsEqual(b.skips) { $0.reason == $1.reason && $0.eventType == $1.eventType }
    }
}
