import Foundation
import Relay

extension DoctorReport {
    /// The report as one JSON document, for scripts and init containers (`doctor --json`):
    ///
    /// ```json
    /// {"checks":[{"detail":"6 partitions","fix":null,"name":"kafka topic braze.currents","ok":true,"status":"passed"}],
    ///  "elapsed_ms":412,"ok":true,"summary":"9 checks: 9 passed (0.4 s)","timeout_ms":10000}
    /// ```
    ///
    /// Every check has `name`, `ok`, `status` (`passed`, `warning`, `failed`, `skipped`), `detail`
    /// and `fix` (null when there is nothing to do); keys are sorted, so two runs diff cleanly.
    public var json: String {
        let document = Document(
            ok: ok, summary: summary, elapsedMs: elapsed.milliseconds, timeoutMs: timeout.milliseconds,
            checks: checks.map { Document.Check(name: $0.name, ok: $0.ok, status: $0.status.rawValue, detail: $0.detail, fix: $0.fix) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, numbers and booleans cannot fail.
        let data = (try? encoder.encode(document)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The document's shape: the Codable mirror of the report.
    private struct Document: Encodable {
        struct Check: Encodable {
            var name: String
            var ok: Bool
            var status: String
            var detail: String
            var fix: String?

            enum CodingKeys: String, CodingKey { case name, ok, status, detail, fix }

            /// `fix` is written as null rather than left out: every check has the same keys.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(name, forKey: .name)
                try container.encode(ok, forKey: .ok)
                try container.encode(status, forKey: .status)
                try container.encode(detail, forKey: .detail)
                try container.encode(fix, forKey: .fix)
            }
        }

        var ok: Bool
        var summary: String
        var elapsedMs: Int64
        var timeoutMs: Int64
        var checks: [Check]

        enum CodingKeys: String, CodingKey {
            case ok, summary, checks
            case elapsedMs = "elapsed_ms"
            case timeoutMs = "timeout_ms"
        }
    }
}
