/// One thing `doctor` checked, and what it found: a line of its report.
///
/// A value, so the checks are plain functions from what the cluster and mParticle answered to
/// these, and tests compare them whole.
public struct DoctorCheck: Sendable, Equatable {
    /// How a check came out.
    public enum Status: String, Sendable, Equatable, CaseIterable {
        /// It works as configured.
        case passed
        /// It works, but something will bite later (a retention shorter than the age limit,
        /// mParticle failing right now). Does not fail the run.
        case warning
        /// It will not work as configured: the run exits 1.
        case failed
        /// Not checked: not configured, not answerable here (the embedded broker has no
        /// DescribeConfigs), or what it depends on failed (its own line says why).
        case skipped

        /// The mark the text report shows.
        public var mark: String {
            switch self {
            case .passed: "✓"
            case .warning: "!"
            case .failed: "✗"
            case .skipped: "–"
            }
        }
    }

    /// What was checked, e.g. `kafka topic braze.currents`, `mparticle input ios`.
    public var name: String
    public var status: Status
    /// What was found: for a failure, its cause. Never a secret.
    public var detail: String
    /// What to do about a failure or a warning, as an imperative clause; nil when nothing is to do.
    public var fix: String?

    public init(_ name: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
    }

    /// False only for a failure: a warning or a skipped check does not fail the run.
    public var ok: Bool { status != .failed }

    public static func passed(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name, .passed, detail) }
    public static func warning(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name, .warning, detail, fix: fix) }
    public static func failed(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name, .failed, detail, fix: fix) }
    public static func skipped(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name, .skipped, detail) }
}
