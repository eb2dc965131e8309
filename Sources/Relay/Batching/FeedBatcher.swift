import DequeModule
import MParticle

/// Collects one feed's events into requests within mParticle's limits.
///
/// Events with identical batch-level parts (one user, one device) share a batch of at most
/// 128 KB. Batches stay open in a pool, oldest first, so later events of the same user can join
/// them; a request takes the oldest batches (≤ 100, ≤ 256 KB) once the oldest has waited the
/// linger time and the feed can send, or at once when the pool holds more than `maxOpenBatches`
/// (under load). The pool is what makes grouping work when many users are active: a request of
/// 100 batches alone would rarely see the same user twice. Pure: the caller passes the clock
/// reading.
public struct FeedBatcher: Sendable {
    public let feed: Feed
    public let maxBatches: Int
    public let maxRequestBytes: Int
    public let maxBatchBytes: Int
    public let maxOpenBatches: Int
    /// Its requests go to `/v2/bulkevents/historical`.
    public let historical: Bool

    struct OpenBatch {
        /// The header's hash (`BatchHeaderTable.hash(of:)`).
        var hash: Int
        var batch: EncodedBatch
        var units: [EventUnit]
        var bytes: Int
        var createdAt: UInt64
    }

    /// The batches, oldest first: batch `id` is `pool[id - firstID]`. Batches leave only from the
    /// front, so an id finds its batch without hashing (`add` runs once per event).
    private var pool: Deque<OpenBatch> = []
    private var firstID = 0
    /// The batch still accepting events for each header.
    private var openByHeader = BatchHeaderTable()
    public private(set) var pendingEvents = 0

    public init(feed: Feed, maxBatches: Int = EventsAPILimits.maxBatchesPerRequest,
                maxRequestBytes: Int = EventsAPILimits.maxRequestBytes, maxBatchBytes: Int = EventsAPILimits.maxBatchBytes,
                maxOpenBatches: Int = 5_000, historical: Bool = false) {
        self.feed = feed
        self.historical = historical
        self.maxBatches = maxBatches
        self.maxRequestBytes = maxRequestBytes
        self.maxBatchBytes = maxBatchBytes
        self.maxOpenBatches = max(maxOpenBatches, maxBatches)
    }

    /// No event is waiting (a batch emptied by `takeExpired` may still hold a slot).
    public var isEmpty: Bool { pendingEvents == 0 }
    public var openBatches: Int { pool.count }
    /// Each open batch's byte count as the pool keeps it, next to the batch (for tests of the limits).
    var openBatchSizes: [(counted: Int, batch: EncodedBatch)] { pool.map { ($0.bytes, $0.batch) } }

    /// Adds one encoded event (whose batch alone must fit `maxBatchBytes`). Returns a request
    /// when the pool overflowed.
    ///
    /// `headerHash` is `BatchHeaderTable.hash(of: header)` when the caller has it already.
    public mutating func add(header: consuming [UInt8], headerHash: Int? = nil, event: consuming [UInt8], unit: consuming EventUnit, now: UInt64) -> BulkRequest? {
        pendingEvents += 1
        let hash = headerHash ?? BatchHeaderTable.hash(of: header)
        let position = openByHeader.find(hash: hash) { BatchHeaderTable.sameBytes(pool[$0 - firstID].batch.header, header) }
        if let id = position.id {
            let slot = id - firstID
            let grown = pool[slot].bytes + event.count + 1
            // A batch must also fit a request on its own, with room for the array brackets.
            if grown <= maxBatchBytes && grown + 2 <= maxRequestBytes {
                // In place: a copy of the open batch would copy its arrays on every event.
                pool[slot].batch.events.append(event)
                pool[slot].units.append(unit)
                pool[slot].bytes = grown
                return nil
            }
            // Full: it stays in the pool, sealed; the new batch below takes over its header.
        }
        openByHeader.store(firstID + pool.count, hash: hash, at: position)
        let bytes = EncodedBatch.overhead + header.count + event.count
        // The header stays with the batch until it is sent: without its spare room.
        pool.append(OpenBatch(hash: hash, batch: EncodedBatch(header: header.compacted(), events: [event]), units: [unit], bytes: bytes, createdAt: now))
        return pool.count > maxOpenBatches ? takeRequest() : nil
    }

    /// When the oldest open batch was opened (nil when the pool is empty).
    public var oldestCreatedAt: UInt64? { pool.first?.createdAt }

    /// One request of the oldest batches, if the oldest has waited `linger` nanoseconds or more.
    ///
    /// The pipeline calls this when the feed has a free send slot, not on a timer: a batch that
    /// has lingered but cannot be sent yet stays open, and later events of its user still join
    /// it. Under a rate limit, that is what keeps batches per event low.
    public mutating func takeLingeredRequest(now: UInt64, linger: UInt64) -> BulkRequest? {
        guard let created = oldestCreatedAt, now &- created >= linger else { return nil }
        return takeRequest()
    }

    /// Everything in the pool, as requests (shutdown, flush).
    public mutating func takeAll() -> [BulkRequest] {
        var requests: [BulkRequest] = []
        while let request = takeRequest() { requests.append(request) }
        return requests
    }

    /// One request of the oldest batches, within the request limits.
    public mutating func takeRequest() -> BulkRequest? {
        var packing = Packing()
        while let open = pool.first {
            if open.units.isEmpty {
                // Emptied by `takeExpired`: it leaves the pool and goes in no request.
                removeFirst()
                continue
            }
            guard admits(open, to: packing) else { break }
            removeFirst()
            packing.add(open)
        }
        dropEmptyFront()
        guard !packing.batches.isEmpty else { return nil }
        pendingEvents -= packing.units.count
        return request(packing)
    }

    /// Batches gathered for one request: `takeRequest` fills one, `takeBatches` as many as it needs.
    struct Packing {
        var batches: [EncodedBatch] = []
        var units: [EventUnit] = []
        /// The request body's bytes so far: the brackets, the batches and the commas between them.
        var bytes = 2

        mutating func add(_ open: OpenBatch) {
            bytes += open.bytes + (batches.isEmpty ? 0 : 1)
            batches.append(open.batch)
            units += open.units
        }
    }

    /// Whether `open` may join the request: within the request limits, and always as its first
    /// batch (a batch alone fits a request, as `add` makes sure).
    private func admits(_ open: OpenBatch, to packing: Packing) -> Bool {
        packing.batches.isEmpty || (packing.batches.count < maxBatches && packing.bytes + 1 + open.bytes <= maxRequestBytes)
    }

    private func request(_ packing: Packing) -> BulkRequest {
        BulkRequest(feed: feed, batches: packing.batches, units: packing.units, historical: historical)
    }

    /// Batches emptied by `takeExpired` leave once they are the oldest, so the oldest batch in
    /// the pool (whose age the linger counts) always holds events.
    private mutating func dropEmptyFront() {
        while pool.first?.units.isEmpty == true { removeFirst() }
    }

    /// The oldest batch leaves the pool; its header opens a new batch from now on.
    private mutating func removeFirst() {
        let open = pool.removeFirst()
        // Only if it is still its header's open batch; a full one was replaced by a newer batch.
        openByHeader.remove(id: firstID, hash: open.hash)
        firstID += 1
    }

    /// Takes out every batch holding an event for which `holds` is true, whole, as requests
    /// within the request limits, oldest batch first. A batch taken out keeps its place, empty,
    /// and its header, until it reaches the front (as with `takeExpired`); the others stay open.
    ///
    /// A revocation sends the revoked partitions' events this way, ahead of everything else
    /// (`RelayPipeline.drain`). A batch goes whole: its other events only leave sooner, and
    /// splitting it would cost mParticle one more batch.
    public mutating func takeBatches(holding holds: (EventUnit) -> Bool) -> [BulkRequest] {
        var requests: [BulkRequest] = []
        var packing = Packing()
        var taken = 0
        for slot in pool.indices where pool[slot].units.contains(where: holds) {
            let open = pool[slot]
            if !admits(open, to: packing) {
                requests.append(request(packing))
                packing = Packing()
            }
            packing.add(open)
            taken += open.units.count
            keep([], units: [], at: slot)
        }
        if !packing.batches.isEmpty { requests.append(request(packing)) }
        pendingEvents -= taken
        dropEmptyFront()
        return requests
    }

    /// Leaves only these events in the batch at `slot`, counting its bytes as `add` does (the
    /// first event, then each next one with its comma), so that the next event of its header,
    /// if it is emptied, joins it as a first event.
    private mutating func keep(_ events: [[UInt8]], units: [EventUnit], at slot: Int) {
        pool[slot].bytes = EncodedBatch.overhead + pool[slot].batch.header.count + events.reduce(0) { $0 + $1.count } + events.count - 1
        pool[slot].batch.events = events
        pool[slot].units = units
    }

    /// Takes every event whose age base is before `cutoffMs` (the 48-hour rule) out of the open
    /// batches, as one request to park, not to send: it may exceed the request limits. A batch it
    /// empties keeps its place, and its header, until it reaches the front.
    ///
    /// Batches wait in the pool until their feed can send, which may be long: a blocked feed, or a
    /// feed whose every send slot is held by retries. The age sweep must see them there.
    public mutating func takeExpired(before cutoffMs: Int64) -> BulkRequest? {
        takeEvents { $0.ageBaseMs < cutoffMs }
    }

    /// Takes every event for which `matches` is true out of the open batches, as one request
    /// that is not for sending (it may exceed the request limits): to park (`takeExpired`) or to
    /// drop (a revoked partition's). The other events stay, in their batches; a batch it empties
    /// keeps its place, and its header, until it reaches the front.
    public mutating func takeEvents(where matches: (EventUnit) -> Bool) -> BulkRequest? {
        guard pool.contains(where: { $0.units.contains(where: matches) }) else { return nil }
        var batches: [EncodedBatch] = []
        var units: [EventUnit] = []
        for slot in pool.indices where pool[slot].units.contains(where: matches) {
            let open = pool[slot]
            var taken = EncodedBatch(header: open.batch.header, events: [])
            var kept: [[UInt8]] = []
            var keptUnits: [EventUnit] = []
            for (event, unit) in zip(open.batch.events, open.units) {
                if matches(unit) {
                    taken.events.append(event)
                    units.append(unit)
                } else {
                    kept.append(event)
                    keptUnits.append(unit)
                }
            }
            batches.append(taken)
            keep(kept, units: keptUnits, at: slot)
        }
        pendingEvents -= units.count
        dropEmptyFront()
        return BulkRequest(feed: feed, batches: batches, units: units, historical: historical)
    }
}
