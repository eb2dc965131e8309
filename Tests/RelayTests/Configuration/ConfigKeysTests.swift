import Foundation
import Testing
@testable import Relay

/// The one table of keys, `ConfigKeys`, against everything else that names a key: the README's
/// configuration table, the loader's secret-by-name rule, the environment variables and
/// `check-config`'s output.
@Suite(.timeLimit(.minutes(10))) struct ConfigKeysTests {
    /// README.md, at the repository's root.
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")

    let files: ConfigFiles

    init() throws {
        files = try ConfigFiles()
    }

    func write(_ text: String) throws -> String {
        try files.write(text, permissions: 0o600)
    }

    /// The rows of the first table of the README's `## Configuration` section, each as its key
    /// and its default, backticks removed.
    static func readmeRows(_ readme: String) -> [(key: String, default: String)] {
        let section = readme.components(separatedBy: "\n").drop { $0 != "## Configuration" }.dropFirst().prefix { !$0.hasPrefix("## ") }
        let table = section.drop { !$0.hasPrefix("| key |") }.dropFirst().prefix { $0.hasPrefix("|") }.filter { !$0.hasPrefix("|---") }
        return table.map { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            func unquoted(_ cell: String) -> String {
                cell.count >= 2 && cell.hasPrefix("`") && cell.hasSuffix("`") ? String(cell.dropFirst().dropLast()) : cell
            }
            return (unquoted(cells.count > 1 ? cells[1] : ""), unquoted(cells.count > 2 ? cells[2] : ""))
        }
    }

    /// What the README's table says differently from `keys`: a key missing (with the row to
    /// add), a key the loader does not know, a key listed twice, a default that is not the one
    /// `RelayConfiguration` holds.
    static func readmeProblems(_ readme: String, keys: [ConfigKeys.Key] = ConfigKeys.all) -> [String] {
        let rows = readmeRows(readme)
        var problems: [String] = []
        let listed = Dictionary(rows.map { ($0.key, $0.default) }, uniquingKeysWith: { first, _ in first })
        for (key, count) in Dictionary(rows.map { ($0.key, 1) }, uniquingKeysWith: +) where count > 1 {
            problems.append("README.md's configuration table lists \(key) \(count) times")
        }
        for key in keys {
            guard let documented = listed[key.path] else {
                let row = "| `\(key.path)` | \(key.defaultText.isEmpty ? "" : "`\(key.defaultText)`") | \(key.summary) |"
                problems.append("\(key.path) is a configuration key, missing from README.md's configuration table; its row:\n\(row)")
                continue
            }
            if documented != key.defaultText {
                problems.append("README.md gives \(key.path) the default \"\(documented)\"; RelayConfiguration's is \"\(key.defaultText)\"")
            }
        }
        let known = Set(keys.map(\.path))
        for row in rows where !known.contains(row.key) {
            problems.append("README.md's configuration table lists \(row.key), which is not a configuration key (ConfigKeys.all): a file holding it is refused")
        }
        return problems
    }

    /// The README's table lists every key, and only those, each with its default: a key added to
    /// `ConfigKeys` without its row (or a row without its key, or a default changed on one side)
    /// fails here.
    @Test func theReadmesTableListsEveryKeyWithItsDefault() throws {
        let readme = try String(contentsOf: Self.readme, encoding: .utf8)
        #expect(Self.readmeRows(readme).count == ConfigKeys.all.count)
        for problem in Self.readmeProblems(readme) {
            Issue.record(Comment(rawValue: problem))
        }
    }

    /// The check itself finds each kind of difference (so that a table it failed to find, or a
    /// parse that drifted, cannot pass it silently): a row taken out, a default changed, a row
    /// for a key the loader does not know, no table at all.
    @Test func theReadmeCheckFindsEachDifference() throws {
        let readme = try String(contentsOf: Self.readme, encoding: .utf8)
        let lingerRow = "| `delivery.linger_ms` | `250` |"
        try #require(readme.contains(lingerRow))
        let withoutRow = readme.components(separatedBy: "\n").filter { !$0.hasPrefix(lingerRow) }.joined(separator: "\n")
        #expect(Self.readmeProblems(withoutRow).contains(
            "delivery.linger_ms is a configuration key, missing from README.md's configuration table; its row:\n"
                + "| `delivery.linger_ms` | `250` | how long a feed's batcher waits to fill a request |"))
        #expect(Self.readmeProblems(readme.replacingOccurrences(of: lingerRow, with: "| `delivery.linger_ms` | `100` |")).contains(
            "README.md gives delivery.linger_ms the default \"100\"; RelayConfiguration's is \"250\""))
        let extra = readme.replacingOccurrences(of: lingerRow, with: "| `delivery.linger` | `250` | |\n" + lingerRow)
        #expect(Self.readmeProblems(extra).contains { $0.hasPrefix("README.md's configuration table lists delivery.linger, which is not") })
        #expect(Self.readmeProblems(readme + "\n| `name` | `x` | |\n").isEmpty == Self.readmeProblems(readme).isEmpty, "only the first table counts")
        #expect(Self.readmeProblems("# no table\n").count == ConfigKeys.all.count)
    }

    @Test func keysAreListedOnce() {
        #expect(Set(ConfigKeys.all.map(\.path)).count == ConfigKeys.all.count)
    }

    /// The loader also tells secrets by name (the environment provider by the variable's name, the
    /// file-permission warning by the key's): the table's secrets are exactly the keys it calls
    /// secret.
    @Test func theSecretKeysAreTheOnesTheLoaderRedactsByName() {
        for key in ConfigKeys.all where key.kind != .map {
            #expect(ConfigLoader.isSecretKey(key.name) == key.isSecret, "\(key)")
            #expect(ConfigLoader.isSecretKey(key.environmentVariable) == key.isSecret, "\(key.environmentVariable)")
        }
    }

    /// `CURRENTS_RELAY_` + the path in upper case with `_` for `.` (DESIGN.md); a name the file
    /// chooses by the rule of the environment provider.
    @Test func environmentVariables() {
        for key in ConfigKeys.all {
            #expect(key.environmentVariable == "CURRENTS_RELAY_" + key.path.uppercased().replacingOccurrences(of: ".", with: "_"))
        }
        #expect(ConfigKeys.Delivery.lingerMs.environmentVariable == "CURRENTS_RELAY_DELIVERY_LINGER_MS")
        #expect(ConfigKeys.MParticle.feedSecret.environmentVariable == "CURRENTS_RELAY_MPARTICLE_FEEDS_<INPUT>_SECRET")
        #expect(ConfigKeys.MParticle.feedSecret.environmentVariable("ios-tablet") == "CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_TABLET_SECRET")
        #expect(ConfigKeys.MParticle.feedSecret.environmentVariable("iPad") == "CURRENTS_RELAY_MPARTICLE_FEEDS_I_PAD_SECRET")
        #expect(ConfigKeys.Kafka.properties.environmentVariable("sasl.password") == "CURRENTS_RELAY_KAFKA_PROPERTIES_SASL_PASSWORD")
        #expect(ConfigKeys.MParticle.feedSecret.path("ios") == "mparticle.feeds.ios.secret")
        #expect(ConfigKeys.MParticle.apps.path("app-1") == "mparticle.apps.app-1")
    }

    /// Every key with one value is read from its environment variable: a value that is no value
    /// of the key is refused naming the key, or (free text) shows in `check-config`'s output.
    @Test func everyKeyIsReadFromItsEnvironmentVariable() async throws {
        let path = try write("")
        let defaults = ConfigPrinter.render(try await ConfigLoader.load(path: path, environment: [:]))
        for key in ConfigKeys.all where !key.isUnderMap && key.kind != .map {
            do {
                let configuration = try await ConfigLoader.load(path: path, environment: [key.environmentVariable: "not a value!"])
                let printed = ConfigPrinter.render(configuration)
                #expect(printed != defaults && printed.contains("not a value!"), "\(key.environmentVariable) was not read")
            } catch let error as ConfigError {
                #expect(error.message.hasPrefix("\(key.path):"), "\(key.environmentVariable): \(error.message)")
            }
        }
    }

    /// What `check-config` prints is a file that loads to what it printed: the schema accepts
    /// every key the printer writes, and every key with a value is printed.
    @Test func thePrintedConfigurationLoadsAsItself() async throws {
        let configuration = try await ConfigLoader.load(path: try write("""
        kafka:
          group_instance_id: "relay-1"
          properties: { security.protocol: SASL_SSL, sasl.password: "p" }
        mparticle:
          base_url: "https://127.0.0.1:8443"
          insecure_skip_tls_verify: true
          feeds:
            ios: { key: "k", secret: "s" }
            ipad: { platform: ios, key: "k", secret: "s" }
          apps: { "app-1": ipad }
          events: { exclude: ["users.messages.sms.*"] }
        dead_letter:
          max_age: 90m
        """), environment: [:])
        let printed = ConfigPrinter.render(configuration)
        let again = ConfigPrinter.render(try await ConfigLoader.load(path: try write(printed), environment: [:]))
        #expect(again == printed)
        for key in ConfigKeys.all where !key.isUnderMap {
            #expect(printed.contains("\(key.name):"), "\(key) in\n\(printed)")
        }
    }
}
