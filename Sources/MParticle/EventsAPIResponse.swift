/// What mParticle answered.
public struct EventsAPIResponse: Sendable, Equatable {
    public var status: Int
    /// Seconds from a `Retry-After` header, when present and numeric.
    public var retryAfterSeconds: Int?
    /// The body, cut to a few KB: it goes into logs and dead-letter headers.
    public var body: String
    /// `X-mp-rate-limit-percentage-used`, when mParticle sent it (on 2xx answers): the highest of
    /// the speed and acceleration usage of the rate limit, in percent (SPEC.md §1).
    public var rateLimitPercentageUsed: Double?

    public init(status: Int, retryAfterSeconds: Int? = nil, body: String = "", rateLimitPercentageUsed: Double? = nil) {
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.body = body
        self.rateLimitPercentageUsed = rateLimitPercentageUsed
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
    /// The HTTP client's own error, kept so a caller can tell a name that does not resolve, a
    /// certificate that does not verify and a refused connection apart (`doctor` says which).
    /// Its description never holds a request header, so no secret.
    public var underlying: (any Error)?

    public init(_ message: String, underlying: (any Error)? = nil) {
        self.message = message
        self.underlying = underlying
    }
    public var description: String { "mParticle unreachable: \(message)" }
}
