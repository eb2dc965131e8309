import Foundation

extension DoctorReport {
    /// The report as a person reads it: one line per check, the name in a column, then the mark
    /// (✓ passed, ! warning, ✗ failed, – not checked) and what was found; for a failure or a
    /// warning the fix follows after a semicolon, so cause and fix read as one sentence. A last
    /// line counts them.
    ///
    /// ```
    /// kafka topic braze.currents   ✓  6 partitions
    /// mparticle input ios          ✗  credentials refused (403) for key demo****; copy ...
    /// ```
    public var text: String {
        let width = checks.map(\.name.count).max() ?? 0
        var lines = checks.map { check in
            let name = check.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let fix = check.fix.map { "; \($0)" } ?? ""
            return "\(name)  \(check.status.mark)  \(check.detail)\(fix)"
        }
        lines.append(summary)
        return lines.joined(separator: "\n") + "\n"
    }

    /// `9 checks: 7 passed, 1 failed, 1 not checked (0.4 s)`.
    public var summary: String {
        let parts: [(DoctorCheck.Status, String)] = [(.passed, "passed"), (.warning, "warning"), (.failed, "failed"), (.skipped, "not checked")]
        let counts = parts.compactMap { status, word -> String? in
            let count = count(status)
            guard count > 0 else { return nil }
            return status == .warning && count > 1 ? "\(count) warnings" : "\(count) \(word)"
        }
        return "\(checks.count) check\(checks.count == 1 ? "" : "s"): \(counts.joined(separator: ", ")) (\(ReadableDuration.seconds(elapsed)))"
    }
}
