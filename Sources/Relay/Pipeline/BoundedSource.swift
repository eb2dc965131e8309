import Kafka
import NIOConcurrencyHelpers

/// A record source that ends: it passes on records below each partition's end offset (captured
/// when the command started), drops later ones, and reports done once every partition's settled
/// watermark reached its end. `replay` and `dlq redrive` read through it, so a run neither chases
/// new records nor re-reads the dead letters it writes itself.
public final class BoundedSource: RecordSource {
    public struct Progress: Sendable, Equatable {
        /// Records settled (sent, skipped or parked) out of `total`.
        public var settled: Int64
        public var total: Int64
        public var done: Bool
    }

    private struct State {
        var stored: [TopicPartition: Int64]
        var lastForwarded: [TopicPartition: Int64] = [:]
        var passedEnd: Set<TopicPartition> = []
        var done = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public let events: AsyncStream<KafkaConsumerEvent>
    private let inner: any RecordSource
    private let starts: [TopicPartition: Int64]
    private let ends: [TopicPartition: Int64]
    private let forwardOffsets: Bool
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - starts: first offset of each partition's range (inclusive).
    ///   - ends: end of each partition's range (exclusive).
    ///   - forwardOffsets: store settled offsets in the inner source too (a resumable redrive), or
    ///     keep them to ourselves (a replay leaves the group's offsets alone).
    public init(inner: any RecordSource, starts: [TopicPartition: Int64], ends: [TopicPartition: Int64], forwardOffsets: Bool) {
        self.inner = inner
        self.starts = starts
        self.ends = ends
        self.forwardOffsets = forwardOffsets
        state = NIOLockedValueBox(State(stored: starts))
        (events, continuation) = AsyncStream.makeStream(of: KafkaConsumerEvent.self, bufferingPolicy: .unbounded)
        Task { [self] in await self.forward() }
        check()
    }

    private let continuation: AsyncStream<KafkaConsumerEvent>.Continuation

    private func forward() async {
        for await event in inner.events {
            guard case .messages(let messages) = event else {
                continuation.yield(event)
                continue
            }
            var kept: [KafkaMessage] = []
            kept.reserveCapacity(messages.count)
            var passed: Set<TopicPartition> = []
            var last: [TopicPartition: Int64] = [:]
            for message in messages {
                if let end = ends[message.topicPartition], message.offset < end {
                    kept.append(message)
                    last[message.topicPartition] = message.offset
                } else {
                    passed.insert(message.topicPartition)
                }
            }
            if kept.count < messages.count { inner.handled(messages.count - kept.count) }
            state.withLockedValue { state in
                state.passedEnd.formUnion(passed)
                state.lastForwarded.merge(last) { max($0, $1) }
            }
            if !kept.isEmpty { continuation.yield(.messages(kept)) }
            if !passed.isEmpty { check() }
        }
        continuation.finish()
    }

    /// Total records in the ranges, and how many are settled.
    public var progress: Progress {
        state.withLockedValue { state in
            var settled: Int64 = 0
            var total: Int64 = 0
            for (partition, end) in ends {
                let start = starts[partition] ?? end
                total += max(0, end - start)
                settled += max(0, min(state.stored[partition] ?? start, end) - start)
            }
            return Progress(settled: settled, total: total, done: state.done)
        }
    }

    /// Returns once every partition's range is settled.
    public func waitUntilDone() async {
        await withCheckedContinuation { waiter in
            let now = state.withLockedValue { state -> Bool in
                if state.done { return true }
                state.waiters.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    public func storeOffsets(_ offsets: [TopicPartition: Int64]) -> [TopicPartition: KafkaError] {
        state.withLockedValue { state in state.stored.merge(offsets) { max($0, $1) } }
        check()
        return forwardOffsets ? inner.storeOffsets(offsets) : [:]
    }

    public func commit() throws {
        if forwardOffsets { try inner.commit() }
    }

    public func setPaused(_ paused: Bool) { inner.setPaused(paused) }
    public func handled(_ count: Int) { inner.handled(count) }
    public func close() async { await inner.close() }
    public func reread(_ offsets: [TopicPartition: [Int64]]) async throws -> [TopicPartition: [Int64: KafkaMessage]] {
        try await inner.reread(offsets)
    }

    /// A partition is done when its settled watermark reached its end, or when a record at or past
    /// the end was seen and everything passed on before it is settled (offset gaps at the end).
    private func check() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard !state.done else { return [] }
            let finished = ends.allSatisfy { partition, end in
                let stored = state.stored[partition] ?? end
                if stored >= end { return true }
                guard state.passedEnd.contains(partition) else { return false }
                return stored > (state.lastForwarded[partition] ?? -1)
            }
            guard finished else { return [] }
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}
