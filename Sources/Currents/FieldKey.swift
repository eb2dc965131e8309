/// A field name as the record index compares it: its bytes and their first eight bytes as one
/// big-endian number, the same `prefix` a `RecordIndex.Field` carries.
///
/// The transform asks for the same few dozen names on every record (the mapping's fields, the
/// keys it drops or moves); with the prefix worked out once, most comparisons are one integer
/// compare instead of a walk over a `String`'s UTF-8 view.
public struct FieldKey: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let prefix: UInt64

    public init(_ name: String) {
        bytes = Array(name.utf8)
        prefix = Self.prefix(of: name.utf8)
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

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
