/// What mParticle answered.
public struct EventsAPIResponse: Sendable, Equatable {
    public var status: Int
    /// Seconds from a `Retry-After` header, when present and numeric.
    public var retryAfterSeconds: Int?
    /// The body, cut to a few KB: it goes into logs and dead-letter headers.
    public var body: String

    public init(status: Int, retryAfterSeconds: Int? = nil, body: String = "") {
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.body = body
    }

    public var responseClass: ResponseClass { ResponseClass(status: status) }
}

/// How the relay must treat an answer (DESIGN.md, "Response handling").
public enum ResponseClass: Sendable, Equatable {
    /// 202: settle everything in the request.
    case accepted
    /// 429: wait (Retry-After or backoff) and slow down.
    case rateLimited
    /// 5xx: back off and retry, no attempt limit.
    case serverError
    /// 401/403: the feed's credentials are missing, wrong or expired.
    case unauthorized
    /// 400, 413, other 4xx: the content is refused; split to find the culprit.
    case rejected

    public init(status: Int) {
        switch status {
        case 200..<300: self = .accepted
        case 429: self = .rateLimited
        case 401, 403: self = .unauthorized
        case 400..<500: self = .rejected
        default: self = .serverError
        }
    }
}

/// The request never got an answer (connection refused, reset, timeout).
public struct EventsAPITransportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "mParticle unreachable: \(message)" }
}
