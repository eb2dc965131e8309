import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Named inputs as a user meets them on the command line: `check-config` says when two inputs
/// are one mParticle input, and `simulate --feeds FILE` serves any number of inputs.
@Suite(.serialized, .timeLimit(.minutes(10))) struct NamedInputsCommandLineTests {
    func file(_ text: String, _ pathExtension: String = "yaml") throws -> String {
        let path = ScratchDirectory.path("named-cli", pathExtension)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func checkConfigSaysWhenTwoInputsAreOneFeed() throws {
        let path = try file("""
        mparticle:
          feeds:
            ios: { key: shared-key, secret: s }
            ipad: { platform: ios, key: shared-key, secret: s }
          apps: { app-ipad: ipad }
        """)
        let outcome = try runCLI(["check-config", "--config", path])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.errors.contains("note: mparticle.feeds.ipad has the key of mparticle.feeds.ios: they are one mParticle input"), "\(outcome.errors)")
        #expect(outcome.output.contains(#"ipad: { platform: "ios", key: "shared-key", secret: "<redacted>" }  # the key of ios"#), "\(outcome.output)")
    }

    @Test func badInputsExitTwoNamingTheKey() throws {
        let cases: [(String, String)] = [
            ("mparticle:\n  feeds:\n    ipad: { platform: ios, key: k }\n", "mparticle.feeds.ipad: a key without a secret"),
            ("mparticle:\n  apps: { app-1: ipad }\n", "mparticle.apps.app-1: unknown input \"ipad\""),
            ("mparticle:\n  feeds:\n    ipad: { platform: ipados, key: k, secret: s }\n", "mparticle.feeds.ipad.platform: unknown platform \"ipados\""),
            ("mparticle:\n  feeds:\n    Web: { platform: web, key: k, secret: s }\n", "mparticle.feeds.Web: differs from the input web only in case"),
        ]
        for (yaml, message) in cases {
            let outcome = try runCLI(["check-config", "--config", try file(yaml)])
            #expect(outcome.status == 2 && outcome.errors.contains(message), "\(yaml): \(outcome.status)\n\(outcome.errors)")
        }
        let missing = try runCLI(["simulate", "--port", "0", "--feeds", try file("ipad: { key: k }\n")])
        #expect(missing.status == 2 && missing.errors.contains("--feeds: ipad in"), "\(missing.status)\n\(missing.errors)")
    }

    /// `simulate --feeds FILE` serves the file's inputs: it says so, and a request with a
    /// file's credentials is accepted under that input's name.
    @Test func theSimulatorServesTheInputsOfAFeedsFile() async throws {
        let path = try file("""
        ios-phone: { key: phone-key, secret: phone-secret }
        ios-tablet: { key: tablet-key, secret: tablet-secret }
        """)
        let (process, said) = try startSimulator(["--feeds", path])
        defer { process.terminate(); process.waitUntilExit() }
        #expect(said.contains("(feeds: ios-phone, ios-tablet)"), "\(said)")
        let url = try #require(said.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init))
        let body = #"[{"environment":"development","schema_version":2,"user_identities":{"customerid":"u1"},"events":[{"event_type":"custom_event","data":{"event_name":"x","custom_event_type":"other","timestamp_unixtime_ms":1767225600000,"source_message_id":"m1"}}]}]"#
        #expect(try await post(url + "/v2/bulkevents", body: body, user: "tablet-key", password: "tablet-secret") == 202)
        #expect(try await post(url + "/v2/bulkevents", body: body, user: "tablet-key", password: "wrong") == 403)
        let (data, _) = try await URLSession.shared.data(from: URL(string: url + "/_sim/accepted")!)
        let accepted = String(decoding: data, as: UTF8.self)
        #expect(accepted.contains("ios-tablet"), "\(accepted)")
    }

    /// `simulate --config` serves a relay configuration's inputs, named ones included; inputs that
    /// share a key are served once, under the first (as the relay sends them).
    @Test func theSimulatorServesTheInputsOfARelayConfiguration() throws {
        let path = try file("""
        mparticle:
          feeds:
            ios: { key: phone-key, secret: s }
            ios-tablet: { platform: ios, key: tablet-key, secret: s }
            ipad: { platform: ios, key: phone-key, secret: s }
        """)
        let (process, said) = try startSimulator(["--config", path])
        defer { process.terminate(); process.waitUntilExit() }
        #expect(said.contains("(feeds: ios, ios-tablet)"), "\(said)")
    }

    /// Starts `simulate` with `arguments` and returns it with the line that says where it listens.
    func startSimulator(_ arguments: [String]) throws -> (Process, String) {
        let process = Process()
        process.executableURL = try #require(CommandLineTests.executable, "build the executable first (swift build)")
        process.arguments = ["simulate", "--port", "0", "--log-level", "warning"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let printed = NSLock()
        nonisolated(unsafe) var line = ""
        let listening = DispatchSemaphore(value: 0)
        // On a thread of its own, so a line that never comes fails the test in 30 s, not hangs it.
        Thread {
            var data = Data()
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                data += chunk
                let text = String(decoding: data, as: UTF8.self)
                if let found = text.split(separator: "\n").first(where: { $0.contains("listening on") }) {
                    printed.withLock { line = String(found) }
                    listening.signal()
                    return
                }
            }
        }.start()
        #expect(listening.wait(timeout: .now() + .seconds(30)) == .success, "simulate \(arguments) did not say where it listens")
        return (process, printed.withLock { line })
    }

    func post(_ url: String, body: String, user: String, password: String) async throws -> Int {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Basic " + Data("\(user):\(password)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? -1
    }
}
