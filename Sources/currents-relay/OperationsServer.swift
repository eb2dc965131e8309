import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// The operator's HTTP port: `/metrics` (Prometheus text), `/health/live` (the process serves),
/// `/health/ready` (the relay is running and not shutting down).
final class OperationsServer: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let ready = ReadyFlag()
    private let group: ServiceGroup
    private let task: Task<Void, Error>

    /// Bootstraps swift-metrics with Prometheus (once per process) and starts listening.
    init(host: String = "0.0.0.0", port: Int, logger: Logger) {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        self.registry = registry
        let ready = self.ready
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health/live") { _, _ in Response(status: .ok) }
        router.get("/health/ready") { _, _ in
            ready.value.withLock { $0 } ? Response(status: .ok) : Response(status: .serviceUnavailable)
        }
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "currents-relay"), logger: quiet)
        group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        let group = self.group
        task = Task {
            do {
                try await group.run()
            } catch {
                logger.error("the metrics and health port could not be served", metadata: ["port": "\(port)", "error": "\(error)"])
                throw error
            }
        }
        logger.info("serving /metrics, /health/live and /health/ready", metadata: ["port": "\(port)"])
    }

    func setReady(_ value: Bool) {
        ready.value.withLock { $0 = value }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// Whether `/health/ready` answers 200.
final class ReadyFlag: Sendable {
    let value = Mutex(false)
}
