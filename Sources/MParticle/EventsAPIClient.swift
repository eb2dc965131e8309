import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOSSL

/// Sends a bulk request to one feed. A protocol so tests can script answers and failures.
public protocol EventsAPI: Sendable {
    /// Posts `body` (a JSON array of batches) to `/v2/bulkevents` under `baseURL`, or to
    /// `/v2/bulkevents/historical` when `historical` (data older than 30 days).
    /// Throws `EventsAPITransportError` when no answer came.
    func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse
}

extension EventsAPI {
    /// Posts bytes given as they are to `/v2/bulkevents` (tests, tools).
    public func sendBulk(body: [UInt8], baseURL: String, credentials: FeedCredentials) async throws -> EventsAPIResponse {
        try await sendBulk(body: RequestBody(body), baseURL: baseURL, credentials: credentials, historical: false)
    }
}

/// The Events API over AsyncHTTPClient. One shared connection pool for all feeds.
public final class HTTPEventsAPIClient: EventsAPI {
    private let client: HTTPClient
    private let userAgent: String
    private let timeout: TimeAmount

    /// - Parameters:
    ///   - userAgent: sent on every request, e.g. `currents-relay/0.1 (braze-to-mparticle)`.
    ///   - verifyCertificates: TLS certificate and host name verification (TLS 1.2 or later either
    ///     way). Off only for a local simulator with a self-signed certificate; the configuration
    ///     refuses it for any other host.
    ///   - retriesConnections: when a connection cannot be made, try again with backoff until the
    ///     timeout (the relay: mParticle may come back). `false` fails the request at once with the
    ///     connection's own error (`doctor`: the cause, without waiting out the timeout).
    public init(userAgent: String, timeout: Duration = .seconds(30), connectionsPerHost: Int = 16, verifyCertificates: Bool = true,
                retriesConnections: Bool = true) {
        var configuration = HTTPClient.Configuration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = verifyCertificates ? .fullVerification : .none
        configuration.tlsConfiguration = tls
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        configuration.connectionPool.retryConnectionEstablishment = retriesConnections
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        configuration.timeout = .init(connect: .seconds(10), read: .milliseconds(milliseconds))
        configuration.decompression = .enabled(limit: .ratio(20))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.userAgent = userAgent
        self.timeout = .milliseconds(milliseconds)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    public func sendBulk(body: RequestBody, baseURL: String, credentials: FeedCredentials, historical: Bool) async throws -> EventsAPIResponse {
        let path = historical ? "v2/bulkevents/historical" : "v2/bulkevents"
        let url = baseURL.hasSuffix("/") ? baseURL + path : baseURL + "/" + path
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: credentials.authorizationHeader)
        request.headers.add(name: "User-Agent", value: userAgent)
        request.body = .bytes(body.buffer)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            // Error descriptions from the client never include our headers, so no secret leaks here.
            throw EventsAPITransportError(String(describing: error), underlying: error)
        }
        var buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: 64 * 1024)
        } catch {
            buffer = ByteBuffer()
        }
        let text = buffer.readString(length: min(buffer.readableBytes, 4096)) ?? ""
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let percentageUsed = response.headers.first(name: "X-mp-rate-limit-percentage-used")
            .flatMap { Double($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "%"))) }
        return EventsAPIResponse(status: Int(response.status.code), retryAfterSeconds: retryAfter, body: text,
                                 rateLimitPercentageUsed: percentageUsed)
    }
}
