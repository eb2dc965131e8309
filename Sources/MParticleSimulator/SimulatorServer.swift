import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import ServiceLifecycle

/// A local mParticle Events API (Hummingbird): Basic auth per feed, validation and limits as
/// mParticle applies them, injectable failures and latency, and a record of what it accepted.
///
/// Routes: `POST /v2/events`, `POST /v2/bulkevents`, `POST /v2/bulkevents/historical`;
/// control: `GET /_sim/accepted`, `POST /_sim/reset`, `POST /_sim/behaviour` (JSON
/// `{"fail_status":503,"latency_ms":0}`), `GET /_sim/health`.
public final class SimulatorServer: Sendable {
    public let state: SimulatorState
    public let port: Int
    public let host: String
    /// `https` when the simulator serves TLS.
    public let scheme: String
    private let task: Task<Void, Error>
    private let group: ServiceGroup

    public var baseURL: String { "\(scheme)://\(host):\(port)" }

    private init(state: SimulatorState, host: String, port: Int, scheme: String, task: Task<Void, Error>, group: ServiceGroup) {
        self.scheme = scheme
        self.group = group
        self.state = state
        self.host = host
        self.port = port
        self.task = task
    }

    /// Starts the server and returns once it is listening.
    public static func start(_ configuration: SimulatorConfiguration, logger: Logger = Logger(label: "mparticle-simulator")) async throws -> SimulatorServer {
        let state = SimulatorState(feeds: configuration.feeds, behaviour: configuration.behaviour)
        let router = makeRouter(feeds: configuration.feeds, state: state, logger: logger)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var server: HTTPServerBuilder = .http1()
        if let tls = configuration.tls {
            let tlsConfiguration: TLSConfiguration
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
                tlsConfiguration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            } catch {
                throw SimulatorError("cannot load the TLS certificate \(tls.certificatePath) or key \(tls.privateKeyPath): \(error)")
            }
            server = try .tls(.http1(), tlsConfiguration: tlsConfiguration)
        }
        let app = Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "mparticle-simulator"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? configuration.port)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            do {
                try await group.run()
            } catch {
                portContinuation.finish()
                throw error
            }
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            _ = try await task.value
            throw SimulatorError("the simulator could not listen on \(configuration.host):\(configuration.port)")
        }
        return SimulatorServer(state: state, host: configuration.host, port: port, scheme: configuration.tls == nil ? "http" : "https",
                               task: task, group: group)
    }

    /// Stops listening.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Runs until the surrounding task is cancelled.
    public func wait() async {
        _ = try? await task.value
    }

    static func makeRouter(feeds: [SimulatedFeed], state: SimulatorState, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext, Bool, Bool) async throws -> Response = { request, _, bulk, historical in
            var request = request
            guard let authorization = request.headers[.authorization] else {
                state.recordRejection(status: 401)
                return errorResponse(401, "UNAUTHORIZED", "missing Authorization header")
            }
            guard let feed = authenticate(authorization, state) else {
                state.recordRejection(status: 403)
                return errorResponse(403, "FORBIDDEN", "invalid key or secret")
            }
            state.sawUserAgent(request.headers[.userAgent] ?? "")
            let behaviour = state.behaviour(feed: feed.name)
            if behaviour.latencyMs > 0 { try await Task.sleep(for: .milliseconds(behaviour.latencyMs)) }
            switch state.decide(feed: feed.name) {
            case .fail(let status):
                state.recordRejection(status: status)
                state.logAnswer(feed: feed.name, status: status)
                return errorResponse(status, "INJECTED", "the simulator is set to answer \(status)",
                                     retryAfter: status == 429 ? behaviour.retryAfterSeconds : nil)
            case .stall(let milliseconds):
                try await Task.sleep(for: .milliseconds(milliseconds))
            case .proceed:
                break
            }
            let buffer = try await request.collectBody(upTo: 4 * 1024 * 1024)
            let body = Array(buffer.readableBytesView)
            if behaviour.countOnly && !historical {
                // Benchmarks: count without validating, so the simulator stays cheap next to the relay.
                let counts = EventsAPIValidator.countByScanning(body)
                state.recordCounts(feed: feed.name, batches: counts.batches, events: counts.events)
                state.logAnswer(feed: feed.name, status: 202)
                return accepted(behaviour)
            }
            switch EventsAPIValidator.validateBatches(body: body, bulk: bulk, feed: feed.name, rejectEventIDs: behaviour.rejectEventIDs) {
            case .failure(let refusal):
                state.recordRejection(status: refusal.status)
                state.logAnswer(feed: feed.name, status: refusal.status)
                logger.debug("refused request", metadata: ["feed": "\(feed.name)", "status": "\(refusal.status)", "reason": "\(refusal.message)"])
                return errorResponse(refusal.status, refusal.status == 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST", refusal.message)
            case .success(let batches):
                if historical, let refusal = EventsAPIValidator.validateHistorical(batches, nowMs: Int64(Date().timeIntervalSince1970 * 1000)) {
                    state.recordRejection(status: refusal.status)
                    state.logAnswer(feed: feed.name, status: refusal.status)
                    return errorResponse(refusal.status, "BAD_REQUEST", refusal.message)
                }
                state.record(feed: feed.name, key: feed.key, batches: batches, historical: historical)
                state.logAnswer(feed: feed.name, status: 202)
                return accepted(behaviour)
            }
        }
        router.post("/v2/events") { request, context in try await handler(request, context, false, false) }
        router.post("/v2/bulkevents") { request, context in try await handler(request, context, true, false) }
        router.post("/v2/bulkevents/historical") { request, context in try await handler(request, context, true, true) }
        router.get("/_sim/health") { _, _ in Response(status: .ok) }
        router.get("/_sim/accepted") { _, _ in
            jsonResponse(acceptedReport(state))
        }
        router.get("/_sim/requests") { _, _ in
            jsonResponse(["requests": state.requestLog.map { ["feed": $0.feed, "at_ms": $0.atMs, "status": $0.status] as [String: Any] }])
        }
        router.post("/_sim/reset") { _, _ in
            state.reset()
            return Response(status: .noContent)
        }
        router.post("/_sim/behaviour") { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 1024 * 1024)
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
                return errorResponse(400, "BAD_REQUEST", "expected a JSON object, e.g. {\"feed\":\"ios\",\"status_script\":[503,503,202]}")
            }
            let feed = object["feed"] as? String
            if object["reset"] as? Bool == true, let feed {
                state.setBehaviour(nil, feed: feed)
                return Response(status: .noContent)
            }
            var behaviour = feed.map { state.behaviour(feed: $0) } ?? state.behaviour
            if object.keys.contains("fail_status") { behaviour.failStatus = object["fail_status"] as? Int }
            if let latency = object["latency_ms"] as? Int { behaviour.latencyMs = max(0, latency) }
            if let countOnly = object["count_only"] as? Bool { behaviour.countOnly = countOnly }
            if let script = object["status_script"] as? [Int] { behaviour.statusScript = script }
            if let rate = object["failure_rate"] as? Double { behaviour.failureRate = min(max(rate, 0), 1) }
            if let status = object["failure_status"] as? Int { behaviour.failureStatus = status }
            if let seed = object["seed"] as? Int { behaviour.seed = UInt64(truncatingIfNeeded: seed) }
            if object.keys.contains("retry_after_s") { behaviour.retryAfterSeconds = object["retry_after_s"] as? Int }
            if let ids = object["reject_event_ids"] as? [String] { behaviour.rejectEventIDs = Set(ids) }
            if let rate = object["slow_rate"] as? Double { behaviour.slowRate = min(max(rate, 0), 1) }
            if let latency = object["slow_latency_ms"] as? Int { behaviour.slowLatencyMs = max(0, latency) }
            if object.keys.contains("rate_limit_percentage_used") { behaviour.rateLimitPercentageUsed = object["rate_limit_percentage_used"] as? Int }
            if let feed { state.setBehaviour(behaviour, feed: feed) } else { state.setBehaviour(behaviour) }
            return Response(status: .noContent)
        }
        router.post("/_sim/credentials") { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 64 * 1024)
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: String],
                  let feed = object["feed"], let key = object["key"], let secret = object["secret"] else {
                return errorResponse(400, "BAD_REQUEST", "expected {\"feed\":\"ios\",\"key\":\"...\",\"secret\":\"...\"}")
            }
            state.setCredentials(feed: feed, key: key, secret: secret)
            return Response(status: .noContent)
        }
        return router
    }

    static func authenticate(_ header: String, _ state: SimulatorState) -> SimulatedFeed? {
        guard header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))),
              let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") else { return nil }
        let key = String(pair[..<colon])
        let secret = String(pair[pair.index(after: colon)...])
        guard let feed = state.feed(forKey: key), feed.secret == secret else { return nil }
        return feed
    }

    static func acceptedReport(_ state: SimulatorState) -> [String: Any] {
        let events = state.acceptedEvents
        var ids: [String: [String]] = [:]
        for event in events {
            ids[event.feed, default: []].append(event.sourceMessageID ?? "")
        }
        var feeds: [String: Any] = [:]
        for (name, counts) in state.counts {
            feeds[name] = ["requests": counts.requests, "batches": counts.batches, "events": counts.events]
        }
        return [
            "total_events": state.totalAcceptedEvents,
            "feeds": feeds,
            "event_ids": ids,
            "rejected": Dictionary(uniqueKeysWithValues: state.rejectedRequests.map { (String($0.key), $0.value) }),
            "deduplicated_batches": state.deduplicatedBatches,
            "historical_events": state.historicalEvents,
        ]
    }

    static func jsonResponse(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// 202, with `X-mp-rate-limit-percentage-used` when the behaviour sets it.
    static func accepted(_ behaviour: SimulatorState.Behaviour) -> Response {
        var response = Response(status: .accepted)
        if let used = behaviour.rateLimitPercentageUsed { response.headers[.init("X-mp-rate-limit-percentage-used")!] = String(used) }
        return response
    }

    static func errorResponse(_ status: Int, _ code: String, _ message: String, retryAfter: Int? = nil) -> Response {
        var response = jsonResponse(["errors": [["code": code, "message": message]]], status: HTTPResponse.Status(code: status))
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        if status == 429 { response.headers[.init("X-mp-rate-limit-exceeded")!] = "feed" }
        return response
    }
}

public struct SimulatorError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
