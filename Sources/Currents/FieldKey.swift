/// A field name as the record index compares it: its bytes and their first eight bytes as one
/// big-endian number, the same `prefix` a `RecordIndex.Field` carries.
///
/// The transform asks for the same few dozen names on every record (the mapping's fields, the
/// keys it drops or moves); with the prefix worked out once, most comparisons are one integer
/// compare instead of a walk over a `String`'s UTF-8 view.
public struct FieldKey: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let bytes: [UInt8]
    public let prefix: UInt64

    public init(_ name: String) {
        self.name = name
        bytes = Array(name.utf8)
        prefix = Self.prefix(of: name.utf8)
    }

    public var description: String { name }

    public static func == (a: FieldKey, b: FieldKey) -> Bool { a.prefix == b.prefix && a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The first eight bytes, big-endian, zero-padded. Keys the index reads hold no zero byte
    /// (control characters take the general path), so the padding orders a short key first,
    /// as byte order does.
    @inlinable
    public static func prefix(of bytes: some Sequence<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        var count = 0
        for byte in bytes {
            guard count < 8 else { break }
            value = value << 8 | UInt64(byte)
            count += 1
        }
        return count == 0 ? 0 : value << (8 * UInt64(8 - count))
    }
}

extension FieldKey {
    /// The fields every mapping asks for (`EventFieldReading`'s accessors).
    public static let externalUserID = FieldKey("external_user_id")
    public static let platform = FieldKey("platform")
    public static let appID = FieldKey("app_id")
}
