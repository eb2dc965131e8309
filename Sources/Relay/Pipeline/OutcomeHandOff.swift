import Synchronization

/// One batch's transform outcomes, moved from the task that works them out to the pipeline's
/// actor.
///
/// A task's result stays referenced by the task until the task is freed, so outcomes read with
/// `Task.value` are shared, and the actor had to copy each one (a retain of its header, payload
/// and record, and a release later) before taking it apart. Moved through here, the actor owns
/// them alone and takes them apart without copying.
final class OutcomeHandOff: Sendable {
    private let outcomes = Mutex<[[RecordTransform.Outcome]]>([])

    /// Called once, by the transform task, before it returns.
    func put(_ parts: consuming [[RecordTransform.Outcome]]) {
        var parts = parts
        outcomes.withLock { swap(&$0, &parts) }
    }

    /// Called once, by the actor, after the transform task has returned.
    func take() -> [[RecordTransform.Outcome]] {
        var parts: [[RecordTransform.Outcome]] = []
        outcomes.withLock { swap(&$0, &parts) }
        return parts
    }
}
