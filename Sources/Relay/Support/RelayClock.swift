import Foundation
import NIOConcurrencyHelpers

/// Time as the pipeline sees it, behind a protocol so tests can drive linger, backoff and age.
public protocol RelayClock: Sendable {
    /// Monotonic nanoseconds, for linger and backoff.
    func monotonicNanoseconds() -> UInt64
    /// Wall-clock milliseconds since the epoch, for message age.
    func wallMilliseconds() -> Int64
    func sleep(for duration: Duration) async throws
}

/// The real clock.
public struct SystemRelayClock: RelayClock {
    public init() {}

    public func monotonicNanoseconds() -> UInt64 {
        // libdispatch's monotonic uptime clock, read without handing a pointer to C.
        DispatchTime.now().uptimeNanoseconds
    }

    public func wallMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

/// The real clock with a movable wall time: tests (and drills) move it forward to see what the
/// 48-hour rule does, while sleeps and linger stay real.
public final class ShiftableClock: RelayClock {
    private let offsetMs = NIOLockedValueBox<Int64>(0)
    private let base = SystemRelayClock()

    public init() {}

    public func advance(by duration: Duration) {
        offsetMs.withLockedValue { $0 += duration.milliseconds }
    }

    public func monotonicNanoseconds() -> UInt64 { base.monotonicNanoseconds() }
    public func wallMilliseconds() -> Int64 { base.wallMilliseconds() + offsetMs.withLockedValue { $0 } }
    public func sleep(for duration: Duration) async throws { try await base.sleep(for: duration) }
}
