import Foundation
import Testing

/// The built `currents-relay` executable, spawned as a user would run it.
@Suite(.serialized) struct CommandLineTests {
    static var executable: URL? {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("currents-relay"),
            Bundle.main.bundleURL.appendingPathComponent("currents-relay"),
            root.appendingPathComponent(".build/debug/currents-relay"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    struct Outcome {
        var status: Int32
        var output: String
        var errors: String
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let executable = try #require(Self.executable, "build the executable first (swift build)")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                       errors: String(decoding: errorData, as: UTF8.self))
    }

    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func demoRunsEndToEndInUnderAMinute() throws {
        let started = ContinuousClock.now
        let outcome = try run(["demo"])
        let elapsed = ContinuousClock.now - started
        #expect(outcome.status == 0, "demo failed: \(outcome.errors.suffix(2000))")
        #expect(elapsed < .seconds(60))
        #expect(outcome.output.contains("every event with an external_user_id was accepted; every offset committed"))
        #expect(outcome.output.contains("no_external_user_id="))
    }

    @Test func badConfigurationExitsTwoAndNamesTheProblem() throws {
        let missing = try run(["run", "--config", "/nonexistent/relay.yaml"])
        #expect(missing.status == 2)
        #expect(missing.errors.contains("config file not found: /nonexistent/relay.yaml"))

        let unknownFeed = try run(["run", "--config", try file("mparticle:\n  feeds:\n    ipad: { key: a, secret: b }\n")])
        #expect(unknownFeed.status == 2)
        #expect(unknownFeed.errors.contains("unknown key mparticle.feeds.ipad"))

        let malformed = try run(["check-config", "--config", try file("kafka: [\n  oops\n")])
        #expect(malformed.status == 2)
        #expect(malformed.errors.contains("malformed YAML"))

        let usage = try run(["run"])
        #expect(usage.status == 2)
        #expect(usage.errors.contains("--config"))
    }

    @Test func checkConfigPrintsTheEffectiveConfigurationWithoutSecrets() throws {
        let path = try file("mparticle:\n  feeds:\n    ios: { key: ios-key }\n")
        let outcome = try run(["check-config", "--config", path], environment: ["CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_SECRET": "very-secret-value"])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.output.contains("ios: { key: \"ios-key\", secret: \"<redacted>\" }"))
        #expect(!outcome.output.contains("very-secret-value"))
        #expect(!outcome.errors.contains("very-secret-value"))
    }
}
