/// When to wake librdkafka's fetchers after its prefetch queue ran dry.
///
/// librdkafka stops fetching a partition once its consumer queue holds `queued.max.messages.kbytes`
/// or `queued.min.messages`, and looks again only when the leader's broker thread wakes: after a
/// second at most, with nothing to prompt it sooner (librdkafka 2.2 made that second
/// `fetch.queue.backoff.ms`; 2.0 has no setting). A consumer that drains the queue faster than
/// that then sits idle for the rest of the second, every time the queue fills: a backlog drained
/// at well under half the relay's speed (bench, 1M events: 41.8k events/s, the relay idle over
/// half the time). A request to the leader is one thing that wakes its broker thread, which then
/// sees the queue below the limits and fetches at once.
///
/// Only a queue that filled to its limits needs the wake, and it holds at least a limit's worth
/// when it stops fetching. So this counts what was taken since the last wake, arms once that
/// reaches half a limit, and wakes the next time a poll finds the queue empty. That is at most
/// one request per half a queue of records: a consumer that has caught up sends none, and a
/// trickle very few. (Counting only the burst since the last empty poll missed fills whose
/// records arrived in pieces, a partition at a time.) Pure: the consumer feeds it and does the
/// waking.
struct FetcherWake: Sendable {
    /// Half of `queued.max.messages.kbytes`, in bytes.
    let byteThreshold: Int
    /// Half of `queued.min.messages`.
    let messageThreshold: Int
    /// Taken since the last wake.
    private(set) var takenBytes = 0
    private(set) var takenMessages = 0

    /// `maxQueuedKilobytes` and `minQueuedMessages` are librdkafka's effective settings.
    init(maxQueuedKilobytes: Int, minQueuedMessages: Int) {
        byteThreshold = max(1, maxQueuedKilobytes * 1024 / 2)
        messageThreshold = max(1, minQueuedMessages / 2)
    }

    /// Whether enough was taken since the last wake that the queue may have reached a limit.
    var armed: Bool { takenBytes >= byteThreshold || takenMessages >= messageThreshold }

    /// A record of `bytes` (key and value, as librdkafka counts its queue) was taken.
    mutating func took(bytes: Int) {
        takenBytes += bytes
        takenMessages += 1
    }

    /// A poll found the queue empty: whether to wake the fetchers now (which disarms it).
    mutating func queueRanDry() -> Bool {
        guard armed else { return false }
        takenBytes = 0
        takenMessages = 0
        return true
    }
}
