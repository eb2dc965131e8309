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

public struct SimulatorConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (read it from `SimulatorServer.port`).
    public var port: Int
    public var feeds: [SimulatedFeed]
    public var behaviour: SimulatorState.Behaviour

    public init(host: String = "127.0.0.1", port: Int = 0, feeds: [SimulatedFeed], behaviour: SimulatorState.Behaviour = .init()) {
        self.host = host
        self.port = port
        self.feeds = feeds
        self.behaviour = behaviour
    }

    /// The four Braze feed inputs with well-known demo credentials.
    public static let demoFeeds: [SimulatedFeed] = ["ios", "android", "web", "unbound"].map {
        SimulatedFeed(name: $0, key: "demo-\($0)-key", secret: "demo-\($0)-secret")
    }
}
