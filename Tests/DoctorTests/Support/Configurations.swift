import MParticle
import Doctor
import Relay

/// A configuration that fits `FakeKafka` and `FakeMParticle` as they start: every check passes.
func goodConfiguration() -> RelayConfiguration {
    var configuration = RelayConfiguration()
    configuration.kafka.bootstrapServers = "b1:9092,b2:9092"
    configuration.kafka.topics = ["braze.currents"]
    configuration.kafka.groupID = "relay"
    configuration.deadLetter.topic = "braze.currents.dlq"
    configuration.mparticle.baseURL = "https://s2s.eu1.mparticle.com"
    configuration.mparticle.feeds = [
        .ios: FeedCredentials(key: "ios-key-1234", secret: "ios-S3CRET"),
        .android: FeedCredentials(key: "android-key-1234", secret: "android-S3CRET"),
        .unbound: FeedCredentials(key: "unbound-key-1234", secret: "unbound-S3CRET"),
    ]
    return configuration
}

extension Array where Element == DoctorCheck {
    /// The check of that name; nil when there is none.
    func named(_ name: String) -> DoctorCheck? { first { $0.name == name } }
}

/// The bound of a run with fakes, which answer at once: long, because the test process shares
/// its two task threads with suites that block them for seconds at a time (a spawned command
/// waited on), and a run cut short by that would report a timeout the code did not cause.
let fakeRunTimeout = Duration.seconds(120)
