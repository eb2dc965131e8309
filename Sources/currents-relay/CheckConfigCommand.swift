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
        print(ConfigPrinter.render(configuration), terminator: "")
    }
}
