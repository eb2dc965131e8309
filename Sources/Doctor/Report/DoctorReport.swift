/// Everything `doctor` found, in the order it prints it: Kafka, then mParticle, then the Schema
/// Registry; and the exit status that follows from it.
public struct DoctorReport: Sendable, Equatable {
    public var checks: [DoctorCheck]
    /// How long the run took.
    public var elapsed: Duration
    /// The bound the run was given (`--timeout`).
    public var timeout: Duration
    /// The parts (`kafka`, `mparticle`, `schema registry`) the timeout cut short: their calls may
    /// still be waiting, on threads and connections the command need not wait for.
    public var unfinished: [String]

    public init(checks: [DoctorCheck], elapsed: Duration = .zero, timeout: Duration = .seconds(10), unfinished: [String] = []) {
        self.checks = checks
        self.elapsed = elapsed
        self.timeout = timeout
        self.unfinished = unfinished
    }

    /// True when no check failed (warnings and skipped checks allowed).
    public var ok: Bool { checks.allSatisfy(\.ok) }

    /// The command's exit status: 0 when every check passed, 1 when any failed. (An invalid
    /// configuration file, 2, stops the command before any check runs.)
    public var exitStatus: Int32 { ok ? 0 : 1 }

    /// How many checks ended in `status`.
    public func count(_ status: DoctorCheck.Status) -> Int { checks.count { $0.status == status } }

    /// The checks that failed.
    public var failures: [DoctorCheck] { checks.filter { $0.status == .failed } }
}
