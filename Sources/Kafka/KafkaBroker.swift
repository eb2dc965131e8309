/// One broker as the cluster's metadata describes it: its node id and the address it advertises,
/// which is where clients connect after the bootstrap list has answered.
///
/// A broker that advertises an address this machine cannot reach (`kafka:9092` seen from outside
/// Docker) fails only then, which is why `doctor` tries each advertised address on its own.
public struct KafkaBroker: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The broker's node id (`broker.id`).
    public var id: Int32
    /// The advertised host name or address.
    public var host: String
    /// The advertised port.
    public var port: Int

    public init(id: Int32, host: String, port: Int) {
        self.id = id
        self.host = host
        self.port = port
    }

    /// `host:port`, as a bootstrap list writes it.
    public var address: String { "\(host):\(port)" }

    public var description: String { "broker \(id) at \(address)" }

    public static func < (lhs: KafkaBroker, rhs: KafkaBroker) -> Bool { lhs.id < rhs.id }
}
