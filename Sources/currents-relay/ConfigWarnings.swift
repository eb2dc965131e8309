import Foundation
import Logging
import Relay

/// Loads the configuration and logs what the loader found worth a warning (TLS verification off,
/// secrets in a file others can read, credentials over plain HTTP), once per command start.
func loadConfiguration(_ path: String, logger: Logger) async throws -> RelayConfiguration {
    let configuration = try await ConfigLoader.load(path: path)
    for warning in configuration.warnings {
        logger.warning("\(warning)")
    }
    return configuration
}
