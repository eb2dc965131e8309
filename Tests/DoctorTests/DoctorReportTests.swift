import Foundation
import Testing
@testable import Doctor

/// The report as it is printed: one line per check and a count, or one JSON document.
@Suite(.timeLimit(.minutes(10))) struct DoctorReportTests {
    let report = DoctorReport(checks: [
        .passed("kafka topic braze.currents", "6 partitions"),
        .failed("mparticle input ios", "credentials refused (403 in 34 ms)", fix: "copy the key and secret"),
        .warning("kafka retention", "src keeps records 24 h", fix: "raise retention.ms"),
        .skipped("schema registry", "not configured"),
    ], elapsed: .milliseconds(420), timeout: .seconds(10))

    @Test func eachCheckIsOneLineWithWhatTheMarkAndForAFailureItsFix() {
        #expect(report.text == """
        kafka topic braze.currents  ✓  6 partitions
        mparticle input ios         ✗  credentials refused (403 in 34 ms); copy the key and secret
        kafka retention             !  src keeps records 24 h; raise retention.ms
        schema registry             –  not configured
        4 checks: 1 passed, 1 warning, 1 failed, 1 not checked (0.4 s)

        """)
    }

    @Test func theExitStatusIsOneOnlyWhenACheckFailed() {
        #expect(report.exitStatus == 1)
        #expect(DoctorReport(checks: [.passed("a", "b"), .warning("c", "d", fix: "e"), .skipped("f", "g")]).exitStatus == 0)
    }

    @Test func theJSONDocumentHasEveryCheckWithTheSameKeys() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        #expect(object["ok"] as? Bool == false)
        #expect(object["elapsed_ms"] as? Int == 420)
        #expect(object["timeout_ms"] as? Int == 10_000)
        let checks = try #require(object["checks"] as? [[String: Any]])
        #expect(checks.count == 4)
        for check in checks {
            #expect(Set(check.keys) == ["name", "ok", "status", "detail", "fix"])
        }
        #expect(checks[0]["fix"] is NSNull)
        #expect(checks[1]["ok"] as? Bool == false && checks[1]["status"] as? String == "failed" && checks[1]["fix"] as? String == "copy the key and secret")
        #expect(checks[2]["ok"] as? Bool == true && checks[2]["status"] as? String == "warning")
        #expect(report.json.split(separator: "\n").count == 1, "one line: one document")
    }
}
