import Currents
import Kafka
import Logging
import MParticle

/// Intake: records and their transform outcomes enter the pipeline in the order the source gave
/// them; each record is tracked, its skips counted, its poison parked, and its events added to
/// their feeds' batchers.
extension RelayPipeline {
    /// A consumer event other than transformed records (and records handed over unprepared).
    func handle(_ event: KafkaConsumerEvent) {
        switch event {
        case .messages(let messages):
            let wallNow = clock.wallMilliseconds()
            handle(messages, outcomes: [messages.map { transform.apply($0, wallNow: wallNow) }], wallNow: wallNow)
        case .assigned(let partitions):
            assign(partitions)
        case .revoked(let partitions):
            revoke(partitions)
        case .error:
            break
        }
    }

    /// The transform of a batch of records, outcomes in record order, in parts. A large batch is
    /// split in two halves transformed at once (the transform is pure), so the stage can use a
    /// second core. The halves are not joined into one array: that copied every outcome (a
    /// retain and a release per field) only to read it once.
    static func apply(_ transform: RecordTransform, to messages: [KafkaMessage], wallNow: Int64) async -> [[RecordTransform.Outcome]] {
        guard messages.count >= 64 else { return [messages.map { transform.apply($0, wallNow: wallNow) }] }
        let middle = messages.count / 2
        async let first = messages[..<middle].map { transform.apply($0, wallNow: wallNow) }
        let second = messages[middle...].map { transform.apply($0, wallNow: wallNow) }
        return await [first, second]
    }

    /// Takes records whose transform outcomes are ready: `outcomes`, joined, are the records'
    /// outcomes in order.
    func handle(_ messages: [KafkaMessage], outcomes: consuming [[RecordTransform.Outcome]], wallNow: Int64) {
        defer { source.handled(messages.count) }
        guard !stopping else { return }
        // A record without an outcome would never be tracked, and the watermark would pass it as
        // a gap: better to stop than to commit past an undelivered record.
        precondition(outcomes.reduce(0) { $0 + $1.count } == messages.count, "every record has an outcome")
        if let topic = messages.first?.topic, messages.allSatisfy({ $0.topic == topic }) {
            stats.consumed(records: messages.count, topic: topic)
        } else {
            for (topic, group) in Dictionary(grouping: messages, by: \.topic) { stats.consumed(records: group.count, topic: topic) }
        }
        let now = clock.monotonicNanoseconds()
        var index = messages.startIndex
        // Counted here and added once: the stats take a lock per call.
        var decoded = 0
        // The outcomes are this call's alone (see `OutcomeHandOff`): each is taken apart in place,
        // its parts moved on, not copied. Iterating, or reading `part[item]`, copied each one.
        for partIndex in outcomes.indices {
            var part: [RecordTransform.Outcome] = []
            swap(&part, &outcomes[partIndex])
            for item in part.indices {
                intake(messages[index], &part[item], now: now, wallNow: wallNow, decoded: &decoded)
                index += 1
            }
        }
        if decoded > 0 { stats.decoded(events: decoded) }
        store(tracker.takeMovedWatermarks())
        applyBackpressure()
        notifyIfIdle()
    }

    /// Admits one record and its outcome: the record is tracked, and the outcome's sends are
    /// moved into their feeds' batchers.
    func intake(_ message: KafkaMessage, _ outcome: inout RecordTransform.Outcome, now: UInt64, wallNow: Int64, decoded: inout Int) {
        if !revoking.isEmpty && revoking.contains(message.topicPartition) { return }
        if let filter = settings.recordFilter, !filter(message) {
            stats.skipped(.filtered)
            _ = tracker.advance(tracker.add(message.topicPartition, offset: message.offset, events: 0, bytes: message.byteCount))
            return
        }
        decoded += outcome.decodedEvents
        if !outcome.truncations.isEmpty { truncated(outcome.truncations, now: now) }
        for (reason, eventType) in outcome.skips { skip(reason, message: message, detail: eventType) }
        let count = outcome.unitCount
        // What is held until the record settles: its events' encoded bytes in the batchers (and
        // the record itself, for a park now). The record is not kept: a park after a send
        // reads it again from Kafka (`RecordLocation`).
        let held = outcome.sendBytes + (outcome.parks.isEmpty ? 0 : message.byteCount)
        let ack = tracker.add(message.topicPartition, offset: message.offset, events: count, bytes: held, timestampMs: message.timestampMs)
        guard count > 0 else {
            _ = tracker.advance(ack)
            return
        }
        for details in outcome.parks {
            var details = details
            details.parkedMs = wallNow
            park(message, details, ack: ack)
        }
        let shares = count > 1
        let base = outcome.ageBaseMs ?? wallNow
        outcome.sends.updateEach { event in
            // The id is needed only to name one event of several in a dead-letter record; left
            // out otherwise, it is one string fewer to copy with every unit.
            let unit = EventUnit(ack: ack, ageBaseMs: base, eventID: shares ? event.eventID : "", sharesRecord: shares)
            // Moved out by hand: passing `event.header` and `event.payload` copied the whole send.
            var header: [UInt8] = [], payload: [UInt8] = []
            swap(&header, &event.header)
            swap(&payload, &event.payload)
            if let request = lanes[event.feed].add(header: consume header, headerHash: event.headerHash, event: consume payload, unit: unit,
                                                   historical: event.historical, now: now) {
                enqueue(request)
            }
        }
    }

    /// Counts every cut (by feed and kind) and logs some (see `TruncationLog`).
    func truncated(_ events: [RecordTransform.Truncated], now: UInt64) {
        for event in events {
            stats.truncated(feed: event.feed, event.cuts)
            guard let line = truncationLog.note(eventType: event.eventType, feed: event.feed, eventID: event.eventID, cuts: event.cuts, nowNs: now) else { continue }
            logger.warning("cut custom attributes to mParticle's per-event limits (100 attributes, names ≤ 256, values ≤ 4,096 characters); logged at most once a minute per event type, every cut is counted in currents_relay_attributes_truncated_total", metadata: [
                "event_type": "\(line.eventType.prefix(200))", "feed": "\(line.feed)", "event_id": "\(line.eventID.prefix(200))",
                "events": "\(line.events)", "attributes_left_out": "\(line.cuts.count)",
                "names_cut": "\(line.cuts.nameLength)", "values_cut": "\(line.cuts.valueLength)",
            ])
        }
    }

    func skip(_ reason: SkipReason, message: KafkaMessage, detail: String) {
        stats.skipped(reason)
        // Built only when a line is written: most skips are not logged at the default level,
        // and building the metadata for each was a measurable share of the actor's time.
        func metadata() -> Logger.Metadata {
            ["reason": "\(reason)", "topic": "\(message.topic)", "partition": "\(message.partition)",
             "offset": "\(message.offset)", "detail": "\(detail.prefix(200))"]
        }
        if reportedSkips.insert(reason).inserted {
            logger.info("skipping events (first of this reason; later ones are logged at debug and counted)", metadata: metadata())
        } else {
            logger.debug("skipped event", metadata: metadata())
        }
    }
}
