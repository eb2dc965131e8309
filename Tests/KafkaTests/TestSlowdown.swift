import Foundation

/// Sanitized builds run several times slower: `scripts/sanitize` sets CURRENTS_RELAY_TEST_SLOWDOWN
/// and every wait for progress stretches by it (what is waited for does not change).
let testSlowdown = max(1, Double(ProcessInfo.processInfo.environment["CURRENTS_RELAY_TEST_SLOWDOWN"] ?? "") ?? 1)

func scaled(_ duration: Duration) -> Duration { duration * testSlowdown }
