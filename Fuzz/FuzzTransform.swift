import Relay

// Globals outside main.swift are initialized lazily on first use: libFuzzer's `main` runs, not
// Swift's top-level code, so main.swift must hold declarations only.

/// Fixed "now" so a crash reproduces: 2026-01-01T00:00:00Z.
let fuzzNowMs: Int64 = 1_767_225_600_000

let transform = RecordTransform(
    mapper: EventMapper(environment: .development, identityKey: "customerid",
                        router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: ["app-ios": .ios, "app-web": .web]),
                        selection: EventSelection()),
    maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000)


/// The same transform with the direct transcoder off: the reference every record is compared to.
let generalTransform: RecordTransform = {
    var general = transform
    general.direct = false
    return general
}()
