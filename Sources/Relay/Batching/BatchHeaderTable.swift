/// Finds the open batch of each batch header by the header's hash, worked out once per event.
///
/// `FeedBatcher` looks a header up for every event, inserts one for every new batch and removes
/// one for every batch that leaves. The header's hash is already SipHash's output, so this table
/// probes linearly from its low bits instead of hashing it again as a dictionary would, keeps each
/// entry's hash next to its batch id, and asks the caller to compare bytes only when the hashes are
/// equal.
///
/// It stores batch ids, not headers: the batcher owns the bytes and says whether an id's header is
/// the one looked for (`isHeader`). Ids are unique, so removal needs the id and the hash only.
struct BatchHeaderTable {
    private struct Entry {
        var hash: Int
        /// The batch id; negative when the entry is empty.
        var id: Int
    }

    private var entries: [Entry]
    private var mask: Int
    /// Headers in the table.
    private(set) var count = 0

    /// Where a lookup ended: the header's entry, or the empty entry where it would go.
    struct Position {
        fileprivate let index: Int
        /// The id stored for the header; nil when the header is not in the table.
        let id: Int?
    }

    init() {
        entries = Array(repeating: Entry(hash: 0, id: -1), count: 16)
        mask = 15
    }

    /// Looks up the header whose hash is `hash`; `isHeader(id)` says whether batch `id`'s header
    /// is that header (it is asked only about ids stored with an equal hash).
    func find(hash: Int, isHeader: (Int) -> Bool) -> Position {
        var index = hash & mask
        while true {
            let entry = entries[index]
            if entry.id < 0 { return Position(index: index, id: nil) }
            if entry.hash == hash && isHeader(entry.id) { return Position(index: index, id: entry.id) }
            index = (index + 1) & mask
        }
    }

    /// Stores `id` for the header `find` looked up, replacing the id it found or filling the empty
    /// entry it stopped at. `position` must come from `find` with no change to the table since.
    mutating func store(_ id: Int, hash: Int, at position: Position) {
        precondition(id >= 0, "batch ids are not negative")
        entries[position.index] = Entry(hash: hash, id: id)
        if position.id == nil {
            count += 1
            // At most half full, so probes stay short and always reach an empty entry.
            if count * 2 > entries.count { grow() }
        }
    }

    /// Removes batch `id` (stored with `hash`), if the table holds it.
    mutating func remove(id: Int, hash: Int) {
        var index = hash & mask
        while entries[index].id != id {
            if entries[index].id < 0 { return }
            index = (index + 1) & mask
        }
        count -= 1
        // Backward-shift deletion: later entries of the run move up into the hole unless their
        // home is after it, so no lookup ever stops early at a hole in the middle of its run.
        var hole = index
        var next = (index + 1) & mask
        while entries[next].id >= 0 {
            let home = entries[next].hash & mask
            if (next &- home) & mask >= (next &- hole) & mask {
                entries[hole] = entries[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        entries[hole].id = -1
    }

    /// Every id in the table, in no order (for tests).
    var ids: [Int] { entries.compactMap { $0.id >= 0 ? $0.id : nil } }

    private mutating func grow() {
        let old = entries
        entries = Array(repeating: Entry(hash: 0, id: -1), count: old.count * 2)
        mask = entries.count - 1
        for entry in old where entry.id >= 0 {
            var index = entry.hash & mask
            while entries[index].id >= 0 { index = (index + 1) & mask }
            entries[index] = entry
        }
    }

    /// A header's hash, with the standard library's per-process seed (so no header can be
    /// crafted to collide with another in every run).
    ///
    /// `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time; this feeds it eight bytes
    /// to a word. The transform stage works it out once per event, where records are transformed
    /// in parallel, and the batcher's lookups reuse it.
    static func hash(of bytes: [UInt8]) -> Int {
        var hasher = Hasher()
        var index = 0
        while index + 8 <= bytes.count {
            hasher.combine(word(bytes, at: index))
            index += 8
        }
        var rest: UInt64 = 0
        while index < bytes.count {
            rest = rest << 8 | UInt64(bytes[index])
            index += 1
        }
        hasher.combine(rest)
        hasher.combine(bytes.count)
        return hasher.finalize()
    }

    /// Whether two headers are the same bytes, compared eight at a time.
    ///
    /// The batcher compares an event's header with its open batch's (a hash match) for every
    /// event; `[UInt8]`'s `==` compares them a byte at a time, ~200 bytes.
    static func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var index = 0
        while index + 8 <= a.count {
            if word(a, at: index) != word(b, at: index) { return false }
            index += 8
        }
        while index < a.count {
            if a[index] != b[index] { return false }
            index += 1
        }
        return true
    }

    /// Eight bytes from `index` (which has eight after it), the first in the highest bits: spelled
    /// out so the optimizer checks the bounds once and reads them with one load.
    @inline(__always)
    private static func word(_ bytes: [UInt8], at index: Int) -> UInt64 {
        UInt64(bytes[index]) << 56 | UInt64(bytes[index + 1]) << 48 | UInt64(bytes[index + 2]) << 40
            | UInt64(bytes[index + 3]) << 32 | UInt64(bytes[index + 4]) << 24 | UInt64(bytes[index + 5]) << 16
            | UInt64(bytes[index + 6]) << 8 | UInt64(bytes[index + 7])
    }
}
