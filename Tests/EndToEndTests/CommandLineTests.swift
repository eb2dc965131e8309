import Foundation
import Testing

/// The built `currents-relay` executable, spawned as a user would run it.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CommandLineTests {
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
        try runCLI(arguments, environment: environment)
    }

    func file(_ text: String) throws -> String {
        let path = ScratchDirectory.path("cli", "yaml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The demo as a new user runs it, with its log lines (JSON, to tell them apart) in order
    /// among its printed ones. It stops the relay, then its Kafka clients, then the brokers, all
    /// before the summary: the brokers used to stop first, and about ten librdkafka errors
    /// ("Connect to ipv4#127.0.0.1:... failed: Connection refused") followed a clean summary.
    ///
    /// How long it takes is the machine's business (the demo's own `--timeout` bounds it, and
    /// `scripts/bench` measures speed); this checks what happened.
    @Test func demoRunsEndToEndAndEndsQuietly() throws {
        let started = ContinuousClock.now
        let outcome = try runCLI(["demo", "--log-format", "json"], combined: true)
        print("demo: \(ContinuousClock.now - started)")
        #expect(outcome.status == 0, "demo failed: \(outcome.output.suffix(2000))")
        #expect(outcome.output.contains("every event with an external_user_id was accepted; every offset committed"))
        #expect(outcome.output.contains("no_external_user_id="))
        // Most of the drain waits on the unbound feed's 270 batches/s; the progress line says so.
        #expect(outcome.output.contains("rate-limited: unbound (270 batches/s per feed"), "\(outcome.output.prefix(3000))")
        // Two iOS apps on two inputs: the tablet app's events on ios-tablet (the demo itself fails
        // when one lands elsewhere), the phone app's on ios.
        let perInput = Dictionary(outcome.output.split(separator: "\n").compactMap { line -> (String, Int)? in
            let words = line.split(separator: " ")
            guard words.count >= 3, words[1] == "accepted:", let count = Int(words[2]) else { return nil }
            return (String(words[0]), count)
        }, uniquingKeysWith: +)
        #expect((perInput["ios-tablet"] ?? 0) > 0 && (perInput["ios"] ?? 0) > 0, "\(perInput)")
        #expect(outcome.output.contains("on input ios-tablet (mparticle.apps)"))

        let lines = outcome.output.split(separator: "\n", omittingEmptySubsequences: false)
        let summary = try #require(lines.firstIndex(of: "Summary"), "no summary:\n\(outcome.output.suffix(2000))")
        let logged = lines.filter { $0.hasPrefix("{\"ts\":") }
        let errors = logged.filter { $0.contains("\"level\":\"error\"") || $0.contains("\"level\":\"critical\"") }
        #expect(errors.isEmpty, "error lines in a successful demo:\n\(errors.joined(separator: "\n"))")
        let afterSummary = lines[summary...].filter { $0.hasPrefix("{\"ts\":") }
        #expect(afterSummary.isEmpty, "log lines after the summary:\n\(afterSummary.joined(separator: "\n"))")
    }

    /// A broker nobody answers on: librdkafka's own lines say what it tried, and the command's last
    /// line names the bootstrap list it could not reach (it said only "Broker transport failure").
    @Test func anUnreachableBrokerIsNamedInTheCommandsError() throws {
        let path = try file("mparticle:\n  feeds:\n    ios: { key: ios-key, secret: ios-secret }\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        for command in [["offsets", "show"], ["dlq", "inspect"]] {
            let outcome = try run(command + ["--config", path], environment: ["CURRENTS_RELAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"])
            #expect(outcome.status == 1, "\(command): \(outcome.errors)")
            let last = outcome.errors.split(separator: "\n").last ?? ""
            #expect(last.hasPrefix("error: cannot reach the Kafka brokers at 127.0.0.1:1: "), "\(command): \(outcome.errors)")
        }
    }

    @Test func badConfigurationExitsTwoAndNamesTheProblem() throws {
        let missing = try run(["run", "--config", "/nonexistent/relay.yaml"])
        #expect(missing.status == 2)
        #expect(missing.errors.contains("config file not found: /nonexistent/relay.yaml"))

        let unknownFeed = try run(["run", "--config", try file("mparticle:\n  feeds:\n    ipad: { key: a, secret: b }\n")])
        #expect(unknownFeed.status == 2)
        // A name beyond the built-in four is a named input, which needs its platform.
        #expect(unknownFeed.errors.contains("mparticle.feeds.ipad.platform: a named input needs its platform"))

        let malformed = try run(["check-config", "--config", try file("kafka: [\n  oops\n")])
        #expect(malformed.status == 2)
        #expect(malformed.errors.contains("malformed YAML"))

        // Each kind of mistake exits 2 with a message that names the key.
        let cases: [(yaml: String, message: String)] = [
            ("kafka:\n  group_idd: x\n", "unknown key kafka.group_idd"),
            ("dead_letter:\n  max_age: forever\n", "dead_letter.max_age: expected a duration"),
            ("http:\n  ready_max_blocked: soon\n", "http.ready_max_blocked: expected a duration"),
            ("mparticle:\n  feeds:\n    web: { key: web-key }\n", "mparticle.feeds.web: a key without a secret"),
            ("mparticle:\n  apps:\n    app-1: ipad\n", "mparticle.apps.app-1: unknown input \"ipad\""),
            ("kafka:\n  topics: [\"^braze.(\"]\n", "kafka.topics: ^braze.( is not a valid regular expression"),
            ("kafka:\n  properties:\n    fetch.wait.max.ms: soon\n", "kafka.properties: kafka property fetch.wait.max.ms=soon"),
        ]
        for (yaml, message) in cases {
            for command in ["run", "check-config", "doctor", "replay", "offsets", "dlq"] {
                let arguments: [String] = switch command {
                case "replay": ["replay", "--config", try file(yaml), "--since", "1h"]
                case "offsets": ["offsets", "show", "--config", try file(yaml)]
                case "dlq": ["dlq", "inspect", "--config", try file(yaml)]
                default: [command, "--config", try file(yaml)]
                }
                let outcome = try run(arguments)
                #expect(outcome.status == 2, "\(arguments.joined(separator: " ")) with \(yaml)")
                #expect(outcome.errors.contains(message), "\(command): \(outcome.errors)")
            }
        }

        let usage = try run(["run"])
        #expect(usage.status == 2)
        #expect(usage.errors.contains("--config"))
    }

    /// The README: "Every command takes `--log-level` and `--log-format`". check-config did not,
    /// and refused them as unknown options (found when `scripts/bench` passed one).
    @Test func everyCommandTakesTheLoggingOptions() throws {
        let commands: [[String]] = [["run"], ["check-config"], ["replay"], ["offsets", "show"], ["offsets", "reset"],
                                    ["dlq", "inspect"], ["dlq", "redrive"], ["seed"], ["demo"], ["simulate"], ["dev-broker"],
                                    ["bench-stages"]]
        for command in commands {
            let help = try run(command + ["--help"])
            #expect(help.status == 0, "\(command)")
            #expect(help.output.contains("--log-level") && help.output.contains("--log-format"), "\(command.joined(separator: " ")) --help:\n\(help.output)")
        }
        let path = try file("mparticle:\n  feeds:\n    ios: { key: ios-key, secret: ios-secret }\n")
        let quiet = try run(["check-config", "--config", path, "--log-level", "error", "--log-format", "json"])
        #expect(quiet.status == 0, "\(quiet.errors)")
        #expect(quiet.output.contains("ios: { key: \"ios-key\""))
    }

    /// An unknown level fell back to info, silently: `--log-level warn` gave every info line, and
    /// a typo in `CURRENTS_RELAY_LOG_LEVEL` went unnoticed. Each is refused, named by its source.
    @Test func anUnknownLogLevelOrFormatIsRefusedWhereverItComesFrom() throws {
        let path = try file("mparticle:\n  feeds:\n    ios: { key: ios-key, secret: ios-secret }\n")
        let levels = "trace, debug, info, notice, warning, error, critical"
        let cases: [(arguments: [String], environment: [String: String], message: String)] = [
            (["--log-level", "warn"], [:], "--log-level: expected one of \(levels), found \"warn\""),
            ([], ["CURRENTS_RELAY_LOG_LEVEL": "loud"], "CURRENTS_RELAY_LOG_LEVEL: expected one of \(levels), found \"loud\""),
            (["--log-format", "xml"], [:], "--log-format: expected text or json, found \"xml\""),
            ([], ["CURRENTS_RELAY_LOG_FORMAT": "logfmt"], "CURRENTS_RELAY_LOG_FORMAT: expected text or json, found \"logfmt\""),
        ]
        for command in [["check-config", "--config", path], ["simulate", "--port", "0"], ["dev-broker"]] {
            for (arguments, environment, message) in cases {
                let outcome = try run(command + arguments, environment: environment)
                #expect(outcome.status == 2, "\(command[0]) \(arguments) \(environment): \(outcome.status)")
                #expect(outcome.errors.contains(message), "\(command[0]) \(arguments) \(environment):\n\(outcome.errors)")
            }
        }
        // The flag wins over the environment, as it does for the level used; case does not matter.
        let flagWins = try run(["check-config", "--config", path, "--log-level", "WARNING"], environment: ["CURRENTS_RELAY_LOG_LEVEL": "loud"])
        #expect(flagWins.status == 0, "\(flagWins.errors)")
    }

    /// The level and format a command runs with: the flag, else the variable, else the
    /// command's default (info for `simulate`). The simulator logs its web server's start at info.
    @Test func theLevelAndFormatComeFromTheFlagThenTheVariable() throws {
        let cases: [(arguments: [String], environment: [String: String], logsStart: Bool, json: Bool)] = [
            ([], [:], true, false),
            (["--log-level", "warning"], [:], false, false),
            ([], ["CURRENTS_RELAY_LOG_LEVEL": "error"], false, false),
            (["--log-level", "info"], ["CURRENTS_RELAY_LOG_LEVEL": "error", "CURRENTS_RELAY_LOG_FORMAT": "json"], true, true),
            ([], ["CURRENTS_RELAY_LOG_FORMAT": "json"], true, true),
            (["--log-format", "text"], ["CURRENTS_RELAY_LOG_FORMAT": "json"], true, false),
        ]
        for (arguments, environment, logsStart, json) in cases {
            let errors = try simulatorStartLog(arguments, environment: environment)
            let line = errors.split(separator: "\n").first { $0.contains("Server started") }
            #expect((line != nil) == logsStart, "\(arguments) \(environment):\n\(errors)")
            if let line { #expect(line.hasPrefix("{\"ts\":") == json, "\(arguments) \(environment): \(line)") }
        }
    }

    /// Starts `simulate`, waits for it to say where it listens (through a pipe: the line must
    /// not wait in a buffer until exit), stops it, and returns its standard error.
    func simulatorStartLog(_ arguments: [String], environment: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = try #require(CommandLineTests.executable as URL?, "build the executable first (swift build)")
        process.arguments = ["simulate", "--port", "0"] + arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CURRENTS_RELAY_LOG_") }.merging(environment) { $1 }
        let output = Pipe()
        let errors = ScratchDirectory.path("simulate", "err")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        try process.run()
        // Read on a thread of its own, so that a line stuck in a buffer fails the test in 30 s
        // instead of hanging it.
        let listening = DispatchSemaphore(value: 0)
        Thread {
            var printed = Data()
            while !String(decoding: printed, as: UTF8.self).contains("listening on") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                printed += chunk
            }
            listening.signal()
        }.start()
        let said = listening.wait(timeout: .now() + .seconds(30)) == .success
        process.terminate()
        #expect(said, "simulate did not say where it listens within 30 s (\(arguments))")
        process.waitUntilExit()
        return (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
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

/// The executable allocates with jemalloc, with the settings compiled into it
/// (Sources/MallocConfiguration), unless it was built to keep the system's malloc (the
/// sanitizer runs, which set CURRENTS_RELAY_SYSTEM_MALLOC for the build and the tests).
@Suite(.timeLimit(.minutes(10))) struct AllocatorTests {
    @Test func theExecutableAllocatesWithJemallocAndItsCompiledInSettings() throws {
        let outcome = try runCLI(["--version"], environment: ["MALLOC_CONF": "stats_print:true"])
        #expect(outcome.status == 0, "\(outcome.errors.suffix(2000))")
        if ProcessInfo.processInfo.environment["CURRENTS_RELAY_SYSTEM_MALLOC"] != nil {
            #expect(!outcome.errors.contains("jemalloc"), "built with the system's malloc")
            return
        }
        // jemalloc prints its statistics at exit when asked, starting with its options.
        for option in ["opt.narenas: 1", "opt.dirty_decay_ms: 250", "opt.muzzy_decay_ms: 0", "opt.background_thread: true"] {
            #expect(outcome.errors.contains(option), "\(option) in jemalloc's statistics:\n\(outcome.errors.prefix(1500))")
        }
        // MALLOC_CONF overrides the compiled-in settings.
        let overridden = try runCLI(["--version"], environment: ["MALLOC_CONF": "stats_print:true,dirty_decay_ms:1000"])
        #expect(overridden.errors.contains("opt.dirty_decay_ms: 1000"), "\(overridden.errors.prefix(1500))")
    }
}

/// `bench-stages` on a few records, each stage: it runs, reports progress and prints a
/// well-formed result. Speed is the benchmark's business, not the test's.
@Suite(.timeLimit(.minutes(10))) struct BenchStagesTests {
    @Test(arguments: ["transform", "pipeline"])
    func eachStageRunsAndPrintsAWellFormedResult(stage: String) throws {
        let outcome = try runCLI(["bench-stages", "--stage", stage, "--events", "400", "--rounds", "2"])
        #expect(outcome.status == 0, "\(outcome.errors.suffix(2000))")
        #expect(outcome.errors.contains("round 2 of 2"), "progress per round")
        let line = try #require(outcome.output.split(separator: "\n").first { $0.hasPrefix("STAGES ") }, "a STAGES line in\n\(outcome.output)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any])
        #expect(result["stage"] as? String == stage && result["records"] as? Int == 400 && result["rounds"] as? Int == 2)
        let fastest = try #require(result["fastest_us_per_record"] as? Double)
        let median = try #require(result["median_us_per_record"] as? Double)
        #expect(fastest > 0 && fastest <= median, "\(line)")
        #expect(outcome.output.contains("fastest µs/rec"), "the table")
    }

    /// The grouping floor: per window, a batch per feed and header; a larger window never needs
    /// more batches per event, and the whole sample as one window needs the fewest.
    @Test func groupingPrintsTheFloorPerWindow() throws {
        let outcome = try runCLI(["bench-stages", "--stage", "grouping", "--events", "15000"])
        #expect(outcome.status == 0, "\(outcome.errors.suffix(2000))")
        let line = try #require(outcome.output.split(separator: "\n").first { $0.hasPrefix("GROUPING ") }, "a GROUPING line in\n\(outcome.output)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(9).utf8)) as? [String: Any])
        #expect(result["records"] as? Int == 15000)
        let events = try #require(result["events"] as? Int)
        #expect(events > 10000 && events <= 15000, "most sample records are sent: \(events)")
        let windows = try #require(result["windows"] as? [[String: Any]])
        #expect(windows.compactMap { $0["events"] as? Int } == [5000, 10000, events], "\(line)")
        let figures = windows.compactMap { $0["batches_per_event"] as? Double }
        #expect(figures.count == 3 && figures.allSatisfy { $0 > 0 && $0 <= 1 }, "\(line)")
        #expect(zip(figures, figures.dropFirst()).allSatisfy { $0 >= $1 }, "larger windows group at least as well: \(line)")
    }

    @Test func badOptionsExitTwo() throws {
        #expect(try runCLI(["bench-stages", "--stage", "decode"]).status == 2)
        #expect(try runCLI(["bench-stages", "--rounds", "0"]).status == 2)
    }
}

/// `scripts/bench` on a small backlog: it runs and prints a well-formed result. Speed is the
/// benchmark's business, not the test's.
@Suite(.serialized, .timeLimit(.minutes(10))) struct BenchScriptTests {
    /// A tiny backlog: the tests check the script's output, not the relay's speed.
    static let events = 2_000

    /// Runs `scripts/bench` on the test build with `arguments` after a small backlog's options:
    /// its exit status, stdout and stderr (kept in a file, so neither pipe can fill and stall it).
    func bench(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let executable = try #require(CommandLineTests.executable, "build the executable first (swift build)")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let errorsFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-stderr-\(UUID().uuidString)")
        try #require(FileManager.default.createFile(atPath: errorsFile.path, contents: nil))
        defer { try? FileManager.default.removeItem(at: errorsFile) }
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/bench")
        process.arguments = ["--events", "\(Self.events)", "--partitions", "16", "--build", "debug"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["CURRENTS_RELAY_BIN": executable.path]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text, (try? String(contentsOf: errorsFile, encoding: .utf8)) ?? "")
    }

    /// An option the relay cannot take fails before the backlog is seeded, with the relay's own
    /// message (not after a minute of seeding, as a relay that exits at start).
    @Test func anOptionTheRelayRefusesFailsBeforeSeeding() throws {
        let refused = try bench(["--in-flight", "lots"])
        #expect(refused.status == 2, "\(refused.errors)")
        #expect(refused.errors.contains("refuses the relay configuration") && refused.errors.contains("delivery.max_in_flight_messages"), "\(refused.errors)")
        #expect(!refused.errors.contains("seeding"), "nothing seeded: \(refused.errors)")
        for rounds in ["0", "two"] {
            let badRounds = try bench(["--rounds", rounds])
            #expect(badRounds.status == 2 && badRounds.errors.contains("--rounds must be a whole number of at least 1"), "\(badRounds.errors)")
            #expect(!badRounds.errors.contains("seeding"), "nothing seeded: \(badRounds.errors)")
        }
    }

    /// With --rounds and --compare, each build drains the backlog once per round (taking turns
    /// to go first): a row per run, a median row per build, the per-round ratios, and one BENCH
    /// line per build with the medians and each figure's range.
    @Test func roundsReportTheMedianAndRangeOfEachBuildAndTheirRatios() throws {
        let executable = try #require(CommandLineTests.executable, "build the executable first (swift build)")
        let (status, text, errors) = try bench(["--rounds", "2", "--compare", executable.path])
        #expect(status == 0, "\(text)\n\(errors.suffix(2000))")
        for row in ["current#1", "compare#1", "current#2", "compare#2", "current~", "compare~"] {
            #expect(text.split(separator: "\n").contains { $0.hasPrefix(row + " ") }, "a row \(row) in\n\(text)")
        }
        #expect(text.contains("compare/current CPU per event, per round: "), "\(text)")
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("BENCH ") }
        let results = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]) }
        #expect(results.map { $0["label"] as? String } == ["current", "compare"], "\(text)")
        for result in results {
            #expect(result["rounds"] as? Int == 2 && result["events"] as? Int == Self.events)
            let range = try #require(result["cpu_us_per_event_range"] as? [Double], "\(result)")
            let median = try #require(result["cpu_us_per_event"] as? Double)
            #expect(range.count == 2 && range[0] > 0 && range[0] <= median && median <= range[1], "\(result)")
            // Counts stay whole numbers, though the median of two rounds is a mean.
            for key in ["events_sent", "requests", "batches", "events_per_s", "kcat_events_per_s"] {
                #expect(result[key] is Int, "\(key) in \(result)")
            }
            // The same binary and backlog: every run sends the same events.
            #expect(result["events_sent_range"] as? [Int] == [result["events_sent"] as? Int ?? -1, result["events_sent"] as? Int ?? -2], "\(result)")
        }
        // Each round is announced on standard error.
        #expect(errors.contains("round 2 of 2"), "\(errors.suffix(2000))")
    }

    @Test func theBenchRunsOnASmallBacklogAndPrintsAWellFormedResult() throws {
        let (status, text, errors) = try bench(["--in-flight", "5000", "--in-flight-bytes", "33554432"])
        #expect(status == 0, "\(text)\n\(errors.suffix(2000))")
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("BENCH ") }, "a BENCH line in\n\(text)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any])
        #expect(result["events"] as? Int == Self.events)
        let sent = try #require(result["events_sent"] as? Int)
        #expect(sent > Self.events * 3 / 4 && sent <= Self.events, "most users have an external_user_id")
        for key in ["events_per_s", "kcat_events_per_s", "requests", "batches"] {
            #expect((result[key] as? Int ?? 0) > 0, "\(key) in \(line)")
        }
        for key in ["cpu_us_per_event", "peak_rss_mb", "batches_per_event", "relay_to_kcat", "seconds", "kcat_cpu_us_per_event", "cpu_to_kcat"] {
            #expect((result[key] as? Double ?? 0) > 0, "\(key) in \(line)")
        }
        #expect((result["batches_per_event"] as? Double ?? 2) <= 1)
        // The settings it ran with, as given (the relay refuses a configuration it cannot read).
        #expect(result["in_flight"] as? Int == 5000 && result["linger_ms"] as? Int == 250, "\(line)")
        #expect(result["in_flight_bytes"] as? Int == 33_554_432, "\(line)")
        // The relay's CPU per event against kcat's per message, in the same run.
        let ratio = (result["cpu_us_per_event"] as? Double ?? 0) / (result["kcat_cpu_us_per_event"] as? Double ?? 1)
        #expect(abs(ratio - (result["cpu_to_kcat"] as? Double ?? 0)) < 0.05 * ratio + 0.01, "\(line)")
        #expect(text.contains("events/s") && text.contains("relay/kcat") && text.contains("cpu/kcat"), "the table")
    }
}
