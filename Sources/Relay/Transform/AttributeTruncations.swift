/// Cuts made to one event's (or several events') custom attributes, by kind.
public struct AttributeTruncations: Sendable, Equatable {
    /// Attributes left out beyond the 100 an event may carry.
    public var count = 0
    /// Names cut to 256 characters (counted even when the cut name then loses to another
    /// attribute of the same name, or is left out: the cut was made).
    public var nameLength = 0
    /// Values of attributes sent, cut to 4,096 characters.
    public var valueLength = 0

    public init(count: Int = 0, nameLength: Int = 0, valueLength: Int = 0) {
        self.count = count
        self.nameLength = nameLength
        self.valueLength = valueLength
    }

    public var total: Int { count + nameLength + valueLength }
    public var isEmpty: Bool { total == 0 }

    public subscript(kind: TruncationKind) -> Int {
        get {
            switch kind {
            case .count: count
            case .nameLength: nameLength
            case .valueLength: valueLength
            }
        }
        set {
            switch kind {
            case .count: count = newValue
            case .nameLength: nameLength = newValue
            case .valueLength: valueLength = newValue
            }
        }
    }

    public static func += (a: inout Self, b: Self) {
        a.count += b.count
        a.nameLength += b.nameLength
        a.valueLength += b.valueLength
    }
}
