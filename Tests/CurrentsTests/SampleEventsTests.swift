import Foundation
import Testing
@testable import Currents

@Suite(.timeLimit(.minutes(10))) struct SampleEventsTests {
    /// The demo's second iOS app: half of the iOS users' events carry its `app_id`, in the record
    /// and in its value; without it, every iOS event is `app-ios`, as before.
    @Test func aTabletAppTakesHalfOfTheIOSUsers() throws {
        var sample = SampleEvents(seed: 3, anonymousPercent: 0)
        let plain = sample.records(count: 600).filter { $0.platform == "ios" }
        #expect(!plain.isEmpty && plain.allSatisfy { $0.appID == "app-ios" })
        sample.tabletAppID = "app-ios-tablet"
        let ios = sample.records(count: 600).filter { $0.platform == "ios" }
        let tablet = ios.filter { $0.appID == "app-ios-tablet" }
        #expect(!tablet.isEmpty && tablet.count < ios.count, "\(tablet.count) of \(ios.count)")
        #expect(ios.allSatisfy { ["app-ios", "app-ios-tablet"].contains($0.appID) })
        for record in tablet {
            #expect(String(decoding: record.value, as: UTF8.self).contains(#""app_id":"app-ios-tablet""#))
        }
    }
}
