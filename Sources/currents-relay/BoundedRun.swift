import Foundation
import Kafka
import Logging
import MParticle
import Relay
import NIOConcurrencyHelpers
import UnixSignals

/// Runs a bounded relay (`replay`, `dlq redrive`) to its end: progress on standard error (a bar
/// on a terminal, a log line every 10 s otherwise), SIGINT/SIGTERM stop it cleanly, and a summary
/// on standard output. Returns false when it was interrupted before the end.
enum BoundedRun {
    static func run(_ runner: RelayRunner, label: String, dryRun: Bool, logger: Logger) async throws -> Bool {
        guard let bounded = runner.bounded else { preconditionFailure("a bounded run needs end offsets") }
        let started = ContinuousClock.now
        let terminal = isatty(STDERR_FILENO) == 1
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let interrupted = InterruptFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await runner.run() }
            group.addTask {
                var lastLog = ContinuousClock.now
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    let progress = bounded.progress
                    let elapsed = seconds(ContinuousClock.now - started)
                    let events = runner.stats.snapshot.totalAccepted
                    if terminal {
                        let line = ProgressLine.render(label: label, settled: progress.settled, total: progress.total, events: events,
                                                       elapsedSeconds: elapsed, bar: true)
                        FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
                    } else if ContinuousClock.now - lastLog >= .seconds(10) {
                        lastLog = ContinuousClock.now
                        logger.info("\(ProgressLine.render(label: label, settled: progress.settled, total: progress.total, events: events, elapsedSeconds: elapsed, bar: false))")
                    }
                }
            }
            group.addTask {
                for await signal in signals {
                    interrupted.set()
                    logger.notice("received \(signal); stopping (in-flight requests finish, settled offsets are kept)")
                    await runner.shutdown(timeout: .seconds(30))
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        let progress = bounded.progress
        let completed = progress.done && !interrupted.isSet
        print(summary(runner.stats.snapshot, progress: progress, label: label, dryRun: dryRun, completed: completed,
                      seconds: seconds(ContinuousClock.now - started)), terminator: "")
        return completed
    }

    static func summary(_ stats: RelayStats.Snapshot, progress: BoundedSource.Progress, label: String, dryRun: Bool,
                        completed: Bool, seconds: Double) -> String {
        var lines: [String] = []
        let state = completed ? "complete"
            : (label.hasPrefix("redrive") ? "interrupted (run it again to continue from where it stopped)"
               : "interrupted (a replay keeps no position: running it again sends the whole range again)")
        lines.append("\(label) \(state): \(progress.settled) of \(progress.total) records in \(String(format: "%.1f", seconds)) s")
        let verb = dryRun ? "would send" : "sent"
        lines.append("events \(verb): \(stats.totalAccepted)" + (stats.eventsAccepted.isEmpty ? "" : " (" + stats.eventsAccepted.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
        if !dryRun { lines.append("mParticle requests: \(stats.totalRequests) (batches: \(stats.totalBatchesAccepted))") }
        lines.append("events skipped: \(stats.totalSkipped)" + (stats.skipped.isEmpty ? "" : " (" + stats.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
        let parkVerb = dryRun ? "would be dead-lettered" : "dead-lettered"
        lines.append("\(parkVerb): \(stats.totalParked)" + (stats.parked.isEmpty ? "" : " (" + stats.parked.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ") + ")"))
        if dryRun { lines.append("dry run: nothing was sent to mParticle or written to Kafka") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

final class InterruptFlag: Sendable {
    private let value = NIOLockedValueBox(false)
    func set() { value.withLockedValue { $0 = true } }
    var isSet: Bool { value.withLockedValue { $0 } }
}

/// `--dry-run`: every request is answered 202 without leaving the process.
struct DryRunAPI: EventsAPI {
    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        EventsAPIResponse(status: 202, retryAfterSeconds: nil, body: "")
    }
}

/// `--dry-run`: parked messages are counted, not written.
struct DryRunDeadLetters: DeadLetterSink {
    func park(_ message: KafkaMessage, _ details: DeadLetterDetails) async throws {}
    func close() async {}
}
