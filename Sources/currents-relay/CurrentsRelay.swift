import ArgumentParser
import Foundation
import Kafka
import Relay

/// The `currents-relay` executable. It wires the pieces together; the decisions live in `Relay`.
@main
struct CurrentsRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "currents-relay",
        abstract: "Relays Braze Currents events from Kafka to mParticle's Events API, losing nothing.",
        version: RelayVersion.current,
        subcommands: [Run.self, Demo.self, Replay.self, Offsets.self, DeadLetters.self, CheckConfig.self, DoctorCommand.self, Simulate.self, DevBroker.self, Seed.self, BenchStages.self]
    )

    /// Exit codes of DESIGN.md: 0 done, 1 runtime failure, 2 bad usage or bad config.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ConfigError {
            printError("configuration error: \(error.message)")
            Foundation.exit(2)
        } catch let error as KafkaError where error.kind == .configuration || error.kind == .clientCreation {
            // librdkafka refused the configuration (kafka.properties) when the client was made.
            printError("configuration error: kafka.properties: \(error.message)")
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            if code == .validationFailure {
                printError(fullMessage(for: error))
                Foundation.exit(2)
            }
            if error is ExitCode {
                exit(withError: error)
            }
            printError("error: \(error)")
            Foundation.exit(1)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a line to standard output at once. `print` buffers when the output is a pipe or a
/// file, so a long-running command's "where to reach me" line (the simulator's URL, the
/// broker's bootstrap list) reached a script only when the command exited.
func printNow(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
