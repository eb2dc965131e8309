import ArgumentParser
import Foundation
import Logging
import MParticleSimulator
import Relay
import UnixSignals

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the local mParticle Events API simulator until SIGINT or SIGTERM.",
        discussion: """
        Feeds: with --config, the inputs of that relay configuration; with --feeds, the inputs of \
        a YAML file shaped like mparticle.feeds (name: {key: ..., secret: ...}, any number of \
        them); otherwise the demo feeds (key demo-<feed>-key, secret demo-<feed>-secret for ios, \
        ios-tablet, android, web and unbound). Requests are counted per input name. \
        GET /_sim/accepted reports what was accepted; POST /_sim/behaviour changes failures and latency.
        """
    )

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(name: .long, help: "Take the feeds' keys and secrets from this relay configuration.")
    var config: String?

    @Option(name: .long, help: "Take the feeds from this YAML file: one entry per input, name: {key: K, secret: S}.")
    var feeds: String?

    @Option(name: .long, help: "Answer every Events API request with this status (e.g. 503).")
    var failStatus: Int?

    @Option(name: .long, help: "Milliseconds of latency added to every answer.")
    var latencyMs: Int = 0

    @Flag(name: .long, help: "Count accepted events without keeping their ids (for benchmarks).")
    var countOnly = false

    @Option(name: .long, help: "Serve HTTPS with this certificate chain (PEM); needs --tls-key.")
    var tlsCert: String?

    @Option(name: .long, help: "The private key (PEM) for --tls-cert.")
    var tlsKey: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        if let failStatus, !(100...599).contains(failStatus) { throw ValidationError("--fail-status must be an HTTP status") }
        guard latencyMs >= 0 else { throw ValidationError("--latency-ms must not be negative") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard config == nil || feeds == nil else { throw ValidationError("--config and --feeds both name the feeds; give one") }
        for path in [tlsCert, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read \(path)")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap()
        var feeds = SimulatorConfiguration.demoInputs
        if let config {
            let relayConfiguration = try await ConfigLoader.load(path: config)
            // Inputs that share a key are one feed, served under the first of them, as the relay sends them.
            let shared = relayConfiguration.mparticle.sharedKeys
            feeds = relayConfiguration.mparticle.catalog.feeds.compactMap { feed in
                guard shared[feed] == nil else { return nil }
                return relayConfiguration.mparticle.feeds[feed].map { SimulatedFeed(name: feed.name, key: $0.key, secret: $0.secret) }
            }
        } else if let path = self.feeds {
            feeds = try SimulatedFeedsFile.load(path: path)
        }
        let server = try await SimulatorServer.start(
            SimulatorConfiguration(host: host, port: port, feeds: feeds,
                                   behaviour: .init(failStatus: failStatus, latencyMs: latencyMs, countOnly: countOnly),
                                   tls: tlsCert.map { SimulatorTLS(certificatePath: $0, privateKeyPath: tlsKey!) }),
            logger: logger)
        printNow("mParticle simulator listening on \(server.baseURL) (feeds: \(feeds.map(\.name).sorted().joined(separator: ", ")))")
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        for await _ in signals { break }
        await server.stop()
        let counts = server.state.counts
        print("accepted \(server.state.totalAcceptedEvents) events: " + counts.keys.sorted().map { "\($0)=\(counts[$0]!.events)" }.joined(separator: " "))
    }
}
