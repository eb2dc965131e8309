import NIOConcurrencyHelpers

/// One part of the run's checks (Kafka, mParticle, the registry) as they come in, and the step
/// the part is on, so a part the deadline cuts short still reports what it found and says where
/// it was waiting.
final class CheckLog: Sendable {
    private struct State {
        var checks: [DoctorCheck] = []
        var step = "starting"
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    func add(_ check: DoctorCheck) { state.withLockedValue { $0.checks.append(check) } }
    func add(contentsOf checks: [DoctorCheck]) { state.withLockedValue { $0.checks += checks } }

    /// What the part waits on now, e.g. `listing the cluster's topics`.
    func step(_ text: String) { state.withLockedValue { $0.step = text } }

    func finish() { state.withLockedValue { $0.finished = true } }

    var checks: [DoctorCheck] { state.withLockedValue { $0.checks } }
    var currentStep: String { state.withLockedValue { $0.step } }
    var finished: Bool { state.withLockedValue { $0.finished } }
}
