import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import NIOConcurrencyHelpers

/// The operator's HTTP port: `/metrics` (Prometheus text), `/health/live` (the process serves),
/// `/health/ready` (200 only while the relay is running, owns partitions, reaches a broker and has
/// no feed blocked past `http.ready_max_blocked`; otherwise 503 with the reasons in the body).
final class OperationsServer: Sendable {
    /// Why the relay is not ready; empty when it is.
    typealias Readiness = @Sendable () async -> [String]

    private let registry: PrometheusCollectorRegistry
    private let ready = ReadyFlag()
    private let readiness = ReadinessCheck()
    private let group: ServiceGroup
    private let task: Task<Void, Error>

    /// Bootstraps swift-metrics with Prometheus (once per process) and starts listening.
    init(host: String = "0.0.0.0", port: Int, logger: Logger) {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        self.registry = registry
        let ready = self.ready
        let readiness = self.readiness
        let router = Router()
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health/live") { _, _ in Response(status: .ok) }
        router.get("/health/ready") { _, _ in
            var reasons: [String] = []
            if !ready.value.withLockedValue({ $0 }) {
                reasons.append("not running (starting or shutting down)")
            } else if let check = readiness.check.withLockedValue({ $0 }) {
                reasons += await check()
            }
            let body = reasons.isEmpty ? "ready\n" : "not ready:\n" + reasons.map { "- \($0)\n" }.joined()
            return Response(status: reasons.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
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

    /// Installs the checks `/health/ready` runs while the relay is running.
    func setReadiness(_ check: @escaping Readiness) {
        readiness.check.withLockedValue { $0 = check }
    }

    func setReady(_ value: Bool) {
        ready.value.withLockedValue { $0 = value }
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// Whether `/health/ready` answers 200.
final class ReadyFlag: Sendable {
    let value = NIOLockedValueBox(false)
}

/// The checks `/health/ready` runs.
final class ReadinessCheck: Sendable {
    let check = NIOLockedValueBox<OperationsServer.Readiness?>(nil)
}
