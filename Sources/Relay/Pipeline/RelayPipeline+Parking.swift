import Kafka
import Logging
import MParticle

/// Parking: events that cannot be delivered go to the dead-letter topic, and settle once the
/// broker has the dead-letter record.
///
/// After a send (a refused event, an expired one), the path reads top to bottom: the actor finds
/// each event's record in the tracker (``RecordLocation``), a task reads the records again from
/// Kafka (``reread(_:from:stats:logger:)``), writes them to the ``DeadLetterSink``, and reports
/// back to the actor (``parked(_:_:message:)``), which settles them. A record found nowhere
/// (retention removed it) is parked as its mParticle batch (``DeadLetterHeaders/standIn(for:batch:)``).
extension RelayPipeline {
    /// Parks the events of a request, one dead-letter record per event.
    ///
    /// The relay keeps only where each record is (`RecordLocation`), so the records are first read
    /// again from Kafka, all of the request's in one read, and parked as they came. A record gone
    /// from Kafka meanwhile (retention) is parked as what the relay still has: the event's
    /// mParticle batch, marked `currents.relay.original: gone` and counted.
    func park(_ request: BulkRequest, reason: DeadLetterReason, status: Int?, message text: String) {
        let wallNow = clock.wallMilliseconds()
        var parks: [PendingPark] = []
        parks.reserveCapacity(request.eventCount)
        for item in request.flattened {
            guard let location = tracker.location(item.unit.ack) else {
                stats.droppedForRevokedPartition(count: 1)
                continue
            }
            parks.append(PendingPark(
                location: location, ack: item.unit.ack, batch: EncodedBatch(header: item.header, events: [item.event]),
                details: DeadLetterDetails(reason: reason, message: text, feed: request.feed, httpStatus: status,
                                           eventID: item.unit.sharesRecord ? item.unit.eventID : nil,
                                           firstAttemptMs: request.firstAttemptMs, parkedMs: wallNow)))
        }
        guard !parks.isEmpty else { return }
        let pending = parks
        let source = self.source, sink = deadLetters, stats = self.stats, logger = self.logger
        startTask { [weak self] in
            guard let originals = await Self.reread(pending.map(\.location), from: source, stats: stats, logger: logger) else { return }
            await withTaskGroup(of: Void.self) { group in
                for var park in pending {
                    let original = originals[park.location.topicPartition]?[park.location.offset].flatMap { park.location.isRecord($0) ? $0 : nil }
                    if original == nil { park.details.originalGone = true }
                    let record = original ?? StandInRecord.record(for: park.location, batch: park.batch)
                    group.addTask {
                        do {
                            try await sink.park(record, park.details)
                            await self?.parked(park.ack, park.details, message: record)
                        } catch {
                            // Cancelled at shutdown: unsettled, so delivered again later.
                        }
                    }
                }
            }
        }
    }

    /// One event of a request on its way to the dead-letter topic.
    struct PendingPark: Sendable {
        var location: RecordLocation
        var ack: RecordAck
        /// The event's mParticle batch: parked in place of the record if the record is gone.
        var batch: EncodedBatch
        var details: DeadLetterDetails
    }

    /// Reads the records at `locations` again, trying until the brokers answer; nil when cancelled
    /// (shutdown: the records stay unsettled and are delivered again by the next owner).
    static func reread(_ locations: [RecordLocation], from source: any RecordSource, stats: RelayStats, logger: Logger) async -> [TopicPartition: [Int64: KafkaMessage]]? {
        let offsets = Dictionary(grouping: locations, by: \.topicPartition).mapValues { $0.map(\.offset) }
        let backoff = Backoff.kafka
        var attempt = 0
        while !Task.isCancelled {
            do {
                let found = try await source.reread(offsets)
                stats.reread(records: Set(locations).count)
                return found
            } catch {
                // Nothing is lost: the records stay unsettled, and their partitions wait here.
                stats.rereadFailed()
                logger.error("cannot read records again from Kafka to park them; holding their offsets and retrying", metadata: [
                    "records": "\(locations.count)", "first": "\(locations[0].topicPartition)@\(locations[0].offset)",
                    "error": "\(error)", "attempt": "\(attempt + 1)",
                ])
                do { try await Task.sleep(for: backoff.delay(attempt: attempt)) } catch { return nil }
                attempt += 1
            }
        }
        return nil
    }

    // MARK: - Dead letters
    /// Parks a record now, as it came (poison, or too old when read): the record is in hand.
    func park(_ message: KafkaMessage, _ details: DeadLetterDetails, ack: RecordAck) {
        let sink = deadLetters
        startTask { [weak self] in
            do {
                try await sink.park(message, details)
                await self?.parked(ack, details, message: message)
            } catch {
                // Cancelled at shutdown: unsettled, so delivered again later.
            }
        }
    }

    /// The broker acknowledged the dead-letter record: count it, log it, and settle the record's
    /// event(s) like an accepted one.
    func parked(_ ack: RecordAck, _ details: DeadLetterDetails, message: KafkaMessage) {
        stats.parked(details.reason, feed: details.feed)
        if details.originalGone {
            stats.parkedWithoutOriginal(details.reason, feed: details.feed)
            logger.warning("the source record was gone from Kafka (retention) when it was read again to be parked; parked the event's mParticle batch in its place (header currents.relay.original=gone)", metadata: [
                "reason": "\(details.reason.rawValue)", "source": "\(message.topicPartition)@\(message.offset)",
                "feed": "\(details.feed?.rawValue ?? "-")",
            ])
        }
        logger.warning("parked in the dead-letter topic", metadata: [
            "reason": "\(details.reason.rawValue)", "source": "\(message.topicPartition)@\(message.offset)",
            "feed": "\(details.feed?.rawValue ?? "-")", "status": "\(details.httpStatus.map(String.init) ?? "-")",
            "detail": "\(details.message.prefix(300))",
        ])
        settle(CollectionOfOne(ack))
    }
}
