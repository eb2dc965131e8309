import Foundation
import NIOConcurrencyHelpers

/// Runs a blocking call (librdkafka's) on a thread of its own, so it never holds one of the few
/// threads Swift concurrency runs every task on (two on the machines this runs on: two probes
/// blocking them would stall the mParticle checks and the deadline itself).
///
/// The awaiting task may be cancelled, as the run's deadline does: it then gets nil at once, and
/// the thread finishes in the background (the process is about to exit).
enum BlockingWork {
    static func run<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value? {
        let once = ResumeOnce<Value>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard once.install(continuation) else { return }
                Thread { once.resume(body()) }.start()
            }
        } onCancel: {
            once.resume(nil)
        }
    }
}

/// A continuation resumed exactly once, by whichever comes first: the work's result, or nil for
/// a cancellation (which may arrive before the continuation exists).
final class ResumeOnce<Value: Sendable>: Sendable {
    private enum State {
        case waiting
        case installed(CheckedContinuation<Value?, Never>)
        case done(Value?)
    }

    private let state = NIOLockedValueBox(State.waiting)

    /// Keeps the continuation; false when the outcome came first (the continuation is then
    /// resumed with it here).
    func install(_ continuation: CheckedContinuation<Value?, Never>) -> Bool {
        let early: Value?? = state.withLockedValue { state in
            if case .done(let value) = state { return .some(value) }
            state = .installed(continuation)
            return .none
        }
        guard let early else { return true }
        continuation.resume(returning: early)
        return false
    }

    func resume(_ value: Value?) {
        let continuation: CheckedContinuation<Value?, Never>? = state.withLockedValue { state in
            switch state {
            case .waiting:
                state = .done(value)
                return nil
            case .installed(let continuation):
                state = .done(value)
                return continuation
            case .done:
                return nil
            }
        }
        continuation?.resume(returning: value)
    }
}
