import Currents
import Testing
@testable import Relay

@Suite(.timeLimit(.minutes(10))) struct BatchHeaderTableTests {
    /// The table against a dictionary, through random stores, replacements and removals, with
    /// hashes drawn from a few values so that runs collide, wrap around the end and shift back on
    /// removal. Keys stand for headers; `isHeader` compares an id's key as the batcher compares bytes.
    @Test func itAgreesWithADictionaryThroughRandomChanges() {
        var random = SplitMix64(seed: 7)
        for hashSpace in [1, 3, 40, 1 << 40] {
            var table = BatchHeaderTable()
            var model: [Int: Int] = [:]    // key -> id
            var keyOfID: [Int: Int] = [:]  // id -> key, for every id ever stored
            var nextID = 0
            func hash(_ key: Int) -> Int { (key &* 0x1E37_79B9_7F4A_7C15) % hashSpace - hashSpace / 2 }
            for _ in 0..<4_000 {
                let key = Int(random.next() % 300)
                if random.next() % 3 == 0, let id = model[key] {
                    table.remove(id: id, hash: hash(key))
                    model[key] = nil
                } else {
                    let position = table.find(hash: hash(key)) { keyOfID[$0] == key }
                    #expect(position.id == model[key], "space \(hashSpace), key \(key)")
                    table.store(nextID, hash: hash(key), at: position)
                    model[key] = nextID
                    keyOfID[nextID] = key
                    nextID += 1
                }
                #expect(table.count == model.count)
            }
            for key in 0..<300 {
                #expect(table.find(hash: hash(key)) { keyOfID[$0] == key }.id == model[key], "space \(hashSpace), key \(key)")
            }
            #expect(table.ids.sorted() == model.values.sorted())
        }
    }

    /// Removing an id the table does not hold (a batch whose header moved on to a newer batch)
    /// changes nothing.
    @Test func removingAnAbsentIdChangesNothing() {
        var table = BatchHeaderTable()
        table.store(1, hash: 5, at: table.find(hash: 5) { _ in false })
        table.store(2, hash: 5, at: table.find(hash: 5) { $0 == 2 })
        table.remove(id: 3, hash: 5)
        table.remove(id: 1, hash: 99)
        #expect(table.count == 2)
        #expect(table.find(hash: 5) { $0 == 1 }.id == 1)
        #expect(table.find(hash: 5) { $0 == 2 }.id == 2)
    }
}
