import Currents

/// The record fields a plan sends in the batch header instead of as custom attributes.
///
/// The set is fixed and small (email, phone, the device fields), so it is a bit mask: the array of
/// names it replaced cost an allocation or two per event on the hot path.
public struct MovedFields: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let emailAddress = MovedFields(rawValue: 1 << 0)
    public static let toPhoneNumber = MovedFields(rawValue: 1 << 1)
    public static let userPhoneNumber = MovedFields(rawValue: 1 << 2)
    public static let deviceModel = MovedFields(rawValue: 1 << 3)
    public static let platform = MovedFields(rawValue: 1 << 4)
    public static let adID = MovedFields(rawValue: 1 << 5)
    public static let adIDType = MovedFields(rawValue: 1 << 6)
    public static let adTrackingEnabled = MovedFields(rawValue: 1 << 7)

    /// Each field with its record key.
    static let keys: [(field: MovedFields, key: FieldKey)] = [
        (.emailAddress, .emailAddress), (.toPhoneNumber, .toPhoneNumber), (.userPhoneNumber, .userPhoneNumber),
        (.deviceModel, .deviceModel), (.platform, .platform), (.adID, .adID), (.adIDType, .adIDType),
        (.adTrackingEnabled, .adTrackingEnabled),
    ]

    /// Whether the record key `name` is one of the fields in the set.
    public func contains(name: String) -> Bool {
        !isEmpty && Self.keys.contains { contains($0.field) && $0.key.name == name }
    }

    /// Whether `field`'s key is one of the fields in the set (by prefix first: the direct
    /// transcoder asks this for every attribute).
    public func contains(_ field: RecordIndex.Field, in index: RecordIndex) -> Bool {
        guard !isEmpty else { return false }
        for entry in Self.keys where contains(entry.field) && index.has(field, key: entry.key) { return true }
        return false
    }
}
