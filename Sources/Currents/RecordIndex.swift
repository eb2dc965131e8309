/// A Currents record read in one pass as byte ranges over the record: no `String`, no dictionary
/// and no `JSONValue` per field.
///
/// It reads the common shape only: one connector envelope or flat event whose keys are plain
/// ASCII and whose values are ASCII (escapes allowed) and of ordinary size. Anything else (a parse
/// error, an `events` array, non-ASCII text, a long value, a duplicated `user`, ...) makes the
/// initializer return nil, and the caller takes the general path (``CurrentsDecoder``), which
/// defines the behaviour: the index never decides an error message or an edge case itself.
///
/// Fields are flattened as the decoder flattens them (a top-level field wins over `user`, which
/// wins over `device`, then `properties`; within one object the last duplicate wins) and kept
/// sorted by key bytes, which is the order mParticle attributes are written in.
public struct RecordIndex: Sendable {
    public enum Kind: UInt8, Sendable {
        /// ASCII with no backslash: the bytes between the quotes are the text, and JSON-safe as they are.
        case plainString
        /// ASCII with escapes (none of them beyond U+007F).
        case escapedString
        /// An integer that fits `Int64`, written as Swift writes it (so no `-0`).
        case integer
        /// A number with a fraction or an exponent, finite as a `Double`.
        case double
        case bool
        case null
        /// An array or an object: never an attribute.
        case container
    }

    public struct Field: Sendable {
        public var keyStart: Int32
        public var keyEnd: Int32
        /// The value's bytes; for strings, inside the quotes.
        public var valueStart: Int32
        public var valueEnd: Int32
        public var kind: Kind
        /// 0 top level, 1 `user`, 2 `device`, 3 `properties`: the lower wins a duplicated key.
        var level: UInt8
        /// Position in the record: the later wins a key duplicated within one object.
        var order: Int32
        /// The first eight key bytes, big-endian: most key comparisons end here.
        var prefix: UInt64

        public var keyRange: Range<Int> { Int(keyStart)..<Int(keyEnd) }
        public var valueRange: Range<Int> { Int(valueStart)..<Int(valueEnd) }
    }

    /// Longer keys and values take the general path (it counts characters to cut them to
    /// mParticle's limits; the index has no characters).
    public static let maxKeyBytes = 256
    public static let maxValueBytes = 4096

    public let bytes: [UInt8]
    /// Every field once (the winner of a duplicated key), sorted by key bytes. The top-level
    /// `event_type` is not among them (the decoder removes it from the fields too).
    public private(set) var fields: [Field] = []
    /// The top-level `event_type`, when it is a plain string.
    public private(set) var eventType: Field?

    public init?(_ bytes: [UInt8]) {
        self.bytes = bytes
        var scanner = Scanner(bytes: bytes)
        scanner.fields.reserveCapacity(32)
        guard scanner.record() else { return nil }
        guard let eventType = scanner.eventType, eventType.kind == .plainString else { return nil }
        self.eventType = eventType
        // Taken, not shared: sorting a copy the scanner still held allocated and copied the
        // array once per record.
        var found = scanner.fields
        scanner.fields = []
        Self.keepWinners(&found, in: bytes)
        fields = found
    }

    /// Sorts the fields by key and keeps one per key, in place.
    static func keepWinners(_ fields: inout [Field], in bytes: [UInt8]) {
        func precedes(_ a: Field, _ b: Field) -> Bool {
            let order = compare(a, b, in: bytes)
            if order != 0 { return order < 0 }
            if a.level != b.level { return a.level < b.level }
            return a.order > b.order
        }
        if fields.count > 64 { fields.sort(by: precedes) }
        // Through a span: each store into the array itself checked that it was unique.
        var span = fields.mutableSpan
        if span.count <= 64 {
            // An ordinary record has a few dozen fields: an insertion sort in place needs no
            // buffer (the standard sort allocated one per record) and few moves.
            var next = 1
            while next < span.count {
                let field = span[next]
                var slot = next
                while slot > 0, precedes(field, span[slot - 1]) {
                    span[slot] = span[slot - 1]
                    slot -= 1
                }
                if slot != next { span[slot] = field }
                next += 1
            }
        }
        var kept = 0
        for index in 0..<span.count {
            if kept > 0, compare(span[kept - 1], span[index], in: bytes) == 0 { continue }
            span[kept] = span[index]
            kept += 1
        }
        let removed = span.count - kept
        _ = consume span
        fields.removeLast(removed)
    }

    /// Byte order of two fields' keys: negative, zero or positive.
    static func compare(_ a: Field, _ b: Field, in bytes: [UInt8]) -> Int {
        if a.prefix != b.prefix { return a.prefix < b.prefix ? -1 : 1 }
        return compare(bytes[a.keyRange], bytes[b.keyRange])
    }

    /// Byte order of two keys (for ASCII, the order of Swift's `String` comparison): negative,
    /// zero or positive. Concrete types, not a generic over collections: an unspecialized generic
    /// called from another module boxed its indices and took a third of the transcoder's time.
    public static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        let count = Swift.min(a.count, b.count)
        var i = a.startIndex, j = b.startIndex
        for _ in 0..<count {
            let x = a[i], y = b[j]
            if x != y { return x < y ? -1 : 1 }
            i += 1
            j += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    public static func compare(_ a: ArraySlice<UInt8>, _ b: String.UTF8View) -> Int {
        var i = a.startIndex
        for y in b {
            guard i < a.endIndex else { return -1 }
            let x = a[i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return i == a.endIndex ? 0 : 1
    }

    /// The field named `name`, if any (by prefix first, then by bytes).
    public func field(_ name: String) -> Field? {
        let utf8 = name.utf8
        let prefix = FieldKey.prefix(of: utf8)
        return search { $0.prefix != prefix ? ($0.prefix < prefix ? -1 : 1) : Self.compare(bytes[$0.keyRange], utf8) }
    }

    /// The field named `key`, if any.
    public func field(_ key: FieldKey) -> Field? { search { compare($0, key) } }

    /// Binary search over the sorted keys; `order` compares a field's key with the one sought.
    /// Inlined into both lookups so the comparison is not an indirect call per step.
    @inline(__always)
    private func search(_ order: (Field) -> Int) -> Field? {
        var low = 0, high = fields.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = fields[middle]
            let comparison = order(candidate)
            if comparison == 0 { return candidate }
            if comparison < 0 { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// Byte order of a field's key and `key`: negative, zero or positive.
    public func compare(_ field: Field, _ key: FieldKey) -> Int {
        if field.prefix != key.prefix { return field.prefix < key.prefix ? -1 : 1 }
        let length = Int(field.keyEnd - field.keyStart)
        // Equal prefixes: the first eight bytes (or the whole of a shorter key) are equal.
        if length <= 8 || key.bytes.count <= 8 { return length == key.bytes.count ? 0 : (length < key.bytes.count ? -1 : 1) }
        return Self.compare(bytes[field.keyRange], key.bytes[...])
    }

    /// Whether a field's key is `key`.
    public func has(_ field: Field, key: FieldKey) -> Bool {
        field.prefix == key.prefix && Int(field.keyEnd - field.keyStart) == key.bytes.count
            && (key.bytes.count <= 8 || Self.compare(bytes[field.keyRange], key.bytes[...]) == 0)
    }

    /// A field's key as text (ASCII).
    public func key(_ field: Field) -> String { String(decoding: bytes[field.keyRange], as: UTF8.self) }
}
