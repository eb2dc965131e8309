/// One feed input the simulator knows: requests authenticated with this pair land on `name`.
public struct SimulatedFeed: Sendable, Equatable {
    public var name: String
    public var key: String
    public var secret: String

    public init(name: String, key: String, secret: String) {
        self.name = name
        self.key = key
        self.secret = secret
    }
}

/// A certificate and key (PEM files) to serve HTTPS with, as mParticle does. With a self-signed
/// certificate the relay must either trust it or opt out of verification for localhost.
public struct SimulatorTLS: Sendable, Equatable {
    public var certificatePath: String
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

public struct SimulatorConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (read it from `SimulatorServer.port`).
    public var port: Int
    public var feeds: [SimulatedFeed]
    public var behaviour: SimulatorState.Behaviour
    /// Serve HTTPS instead of HTTP.
    public var tls: SimulatorTLS?

    public init(host: String = "127.0.0.1", port: Int = 0, feeds: [SimulatedFeed], behaviour: SimulatorState.Behaviour = .init(),
                tls: SimulatorTLS? = nil) {
        self.tls = tls
        self.host = host
        self.port = port
        self.feeds = feeds
        self.behaviour = behaviour
    }

    /// The four Braze feed inputs with well-known demo credentials.
    public static let demoFeeds: [SimulatedFeed] = ["ios", "android", "web", "unbound"].map(demoFeed)

    /// A second iOS app's input (`ios-tablet`, key `demo-ios-tablet-key`): an app-level input, as
    /// Braze models a workspace with two iOS apps. The demo and `simulate` serve it beside
    /// `demoFeeds`.
    public static let demoTabletFeed = demoFeed("ios-tablet")

    /// What the demo and a plain `simulate` serve: `demoFeeds` and `demoTabletFeed`.
    public static let demoInputs = demoFeeds + [demoTabletFeed]

    public static func demoFeed(_ name: String) -> SimulatedFeed {
        SimulatedFeed(name: name, key: "demo-\(name)-key", secret: "demo-\(name)-secret")
    }
}
