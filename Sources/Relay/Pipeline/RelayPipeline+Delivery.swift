import DequeModule
import Logging
import MParticle

/// Requests: sealed from the lanes' batchers, queued, sent within each feed's send slots, and
/// what the pipeline does with each ``DeliveryOutcome`` (settle, split, park, block).
///
/// Retries of one request (5xx, timeouts, 429 with `Retry-After`) happen inside
/// ``FeedSender/deliver(_:)``; the outcomes here are final for the attempt.
extension RelayPipeline {
    /// Seals every open batch and queues it (at shutdown: nothing more can join them).
    func flushBatchers() {
        for feed in lanes.feeds {
            for request in lanes[feed].takeAll() { enqueue(request) }
        }
    }

    /// How long a feed's oldest batch waits for more events before it is sent. Zero while intake
    /// is paused at the in-flight cap: no record can arrive to join an open batch then, so waiting
    /// would only stall the pipeline (a backlog drained at in-flight cap ÷ linger time).
    var lingerNanoseconds: UInt64 { paused ? 0 : UInt64(max(0, settings.lingerMs)) * 1_000_000 }

    func tick() {
        let now = clock.monotonicNanoseconds()
        if now &- lastSweep >= 1_000_000_000 {
            lastSweep = now
            sweepExpired()
        }
        for feed in lanes.feeds { dispatch(feed) }
    }

    /// Parks events that passed the age limit while waiting to be sent: queued, or still in a
    /// feed's pool (a blocked feed holds both; so does a feed whose send slots are all taken).
    func sweepExpired() {
        let cutoff = clock.wallMilliseconds() - maxAgeMs
        for feed in lanes.feeds {
            let blocked = lanes[feed].blocked
            let message = "not accepted by mParticle within \(DurationText.age(maxAgeMs))\(blocked != nil ? " (the \(feed) feed is blocked: credentials refused)" : "")"
            for expired in lanes[feed].takeExpired(before: cutoff) {
                park(expired, reason: .expired, status: blocked?.status, message: message)
            }
            let queue = lanes[feed].queue
            guard !queue.isEmpty, queue.contains(where: { $0.oldestAgeBaseMs < cutoff }) else { continue }
            var kept: Deque<BulkRequest> = []
            for request in queue {
                let (expired, rest) = request.partitioned { $0.ageBaseMs < cutoff }
                if let expired { park(expired, reason: .expired, status: blocked?.status, message: message) }
                if let rest { kept.append(rest) }
            }
            lanes[feed].queue = kept
        }
    }

    /// Queues a sealed request on its feed's lane and sends what the feed's slots allow.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - front: Ahead of the queue: a request coming back (split, refused credentials, partly
    ///     expired) keeps its place before newer ones.
    func enqueue(_ request: BulkRequest, front: Bool = false) {
        if front {
            lanes[request.feed].queue.prepend(request)
        } else {
            lanes[request.feed].queue.append(request)
        }
        dispatch(request.feed)
    }

    /// Sends the feed's queued requests, then its lingered batches, while it has free send slots;
    /// a blocked feed sends one probe at a time instead.
    func dispatch(_ feed: Feed) {
        if let state = lanes[feed].blocked {
            // Blocked: one probe at a time, every probe interval, with the current credentials.
            guard !state.probing, clock.monotonicNanoseconds() >= state.nextProbeAt,
                  let request = lanes[feed].queue.popFirst() ?? takeLingered(feed) else { return }
            lanes[feed].blocked!.probing = true
            send(request, probe: true)
            return
        }
        while lanes[feed].inFlight < settings.maxInFlightRequestsPerFeed, let request = lanes[feed].queue.popFirst() ?? takeLingered(feed) {
            send(request, probe: false)
        }
    }

    /// A request of the feed's lingered batches, taken only when it can be sent: until then the
    /// batches stay open in the pool and later events of their users join them, instead of
    /// waiting sealed in the queue (what keeps batches per event low when sending is the
    /// bottleneck: a rate limit, a slow mParticle). The pool whose oldest batch is older goes first.
    func takeLingered(_ feed: Feed) -> BulkRequest? {
        lanes[feed].takeLingeredRequest(now: clock.monotonicNanoseconds(), linger: lingerNanoseconds)
    }

    func send(_ request: BulkRequest, probe: Bool) {
        var request = request
        if request.firstAttemptMs == nil { request.firstAttemptMs = clock.wallMilliseconds() }
        lanes[request.feed].inFlight += 1
        let sender = self.sender
        let attempt = request
        startTask { [weak self] in
            do {
                let outcome = try await sender.deliver(attempt)
                await self?.completed(attempt, outcome: outcome, probe: probe)
            } catch {
                await self?.cancelled(attempt, probe: probe)
            }
        }
    }

    /// A send ended by cancellation (shutdown): its events stay unsettled, delivered again later.
    func cancelled(_ request: BulkRequest, probe: Bool) {
        lanes[request.feed].inFlight -= 1
        if probe { lanes[request.feed].blocked?.probing = false }
    }

    /// Acts on a request's outcome: accepted events settle, a refused request is split until the
    /// refused events are alone and parked, refused credentials block the feed, expired events
    /// are parked.
    func completed(_ request: BulkRequest, outcome: DeliveryOutcome, probe: Bool) {
        let feed = request.feed
        lanes[feed].inFlight -= 1
        if probe { lanes[feed].blocked?.probing = false }
        switch outcome {
        case .accepted:
            if lanes[feed].blocked != nil { unblock(feed) }
            let now = clock.wallMilliseconds()
            stats.accepted(feed: feed, events: request.eventCount, batches: request.batches.count, latenciesMs: request.units.map { now - $0.ageBaseMs })
            // Lazily: an array of acks per request was one allocation and a copy per event.
            settle(request.units.lazy.map(\.ack))
        case .rejected(let status, let body):
            if lanes[feed].blocked != nil { unblock(feed) }
            if let (first, second) = request.halves() {
                logger.info("mParticle refused a request; splitting it to find the refused events", metadata: [
                    "feed": "\(feed)", "status": "\(status)", "events": "\(request.eventCount)", "body": "\(body.prefix(300))",
                ])
                enqueue(second, front: true)
                enqueue(first, front: true)
            } else {
                park(request, reason: .rejected, status: status, message: body.isEmpty ? "mParticle answered \(status)" : body)
            }
        case .unauthorized(let status, let body):
            block(feed, status: status, body: body)
            enqueue(request, front: true)
        case .expired:
            let cutoff = clock.wallMilliseconds() - maxAgeMs
            let (expired, rest) = request.partitioned { $0.ageBaseMs < cutoff }
            if let expired {
                park(expired, reason: .expired, status: nil, message: "not accepted by mParticle within \(DurationText.age(maxAgeMs))")
            }
            if let rest { enqueue(rest, front: true) }
        }
        dispatch(feed)
        notifyIfIdle()
    }

    /// Blocks the feed (or, already blocked, schedules its next probe).
    func block(_ feed: Feed, status: Int, body: String) {
        let next = clock.monotonicNanoseconds() + UInt64(settings.authProbeInterval.milliseconds) * 1_000_000
        if lanes[feed].blocked == nil {
            lanes[feed].blocked = FeedLane.Blocked(since: clock.wallMilliseconds(), status: status, nextProbeAt: next)
            stats.feedBlocked(feed, true, atMs: clock.wallMilliseconds())
            logger.error("feed blocked: mParticle refused its credentials; holding its events and probing with the current credentials", metadata: [
                "feed": "\(feed)", "status": "\(status)", "probe_every_ms": "\(settings.authProbeInterval.milliseconds)",
                "body": "\(body.prefix(300))",
            ])
        } else {
            lanes[feed].blocked!.nextProbeAt = next
            lanes[feed].blocked!.status = status
        }
    }

    /// Unblocks the feed: mParticle accepted a request with its current credentials.
    func unblock(_ feed: Feed) {
        guard let state = lanes[feed].blocked else { return }
        lanes[feed].blocked = nil
        stats.feedBlocked(feed, false)
        logger.notice("feed unblocked: mParticle accepted its credentials again", metadata: [
            "feed": "\(feed)", "blocked_for": "\(DurationText.age(clock.wallMilliseconds() - state.since))",
        ])
    }
}
