/// How a request's delivery ended.
public enum DeliveryOutcome: Sendable, Equatable {
    /// 202: settle every event in it.
    case accepted
    /// 400, 413 or another 4xx (not 401/403/429): split it, down to the refused event.
    case rejected(status: Int, body: String)
    /// 401/403 (or no credentials): the feed is blocked until a probe gets through.
    case unauthorized(status: Int, body: String)
    /// Its oldest event passed the age limit while it was being retried.
    case expired
}
