import ArgumentParser
import Foundation
import Relay

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and print the effective configuration, secrets redacted. Exit 0 valid, 2 invalid."
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    /// Taken like every command's (scripts pass them to all): check-config's report and its
    /// `warning:` lines are its output, not log records, so the level does not hide them.
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        _ = logging.bootstrap()
        let configuration = try await ConfigLoader.load(path: config)
        for warning in configuration.warnings {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        for (feed, first) in configuration.mparticle.sharedKeys.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("note: mparticle.feeds.\(feed.name) has the key of mparticle.feeds.\(first.name): they are one mParticle input, so their events are sent together as \(first.name) (one batcher, one rate limit, no duplicates)\n".utf8))
        }
        print(ConfigPrinter.render(configuration), terminator: "")
    }
}
