import Currents
import Testing
@testable import Relay

/// The fields a plan moves to the batch header are found by name (general path) and as a record
/// index's field (direct path) alike, and only when they are in the set.
@Suite(.timeLimit(.minutes(10))) struct MovedFieldsTests {
    /// A record holding only `name` (and the event type the index needs), and that field.
    func indexed(_ name: String) throws -> (RecordIndex, RecordIndex.Field) {
        let built = RecordIndex(Array(#"{"event_type":"t","\#(name)":1}"#.utf8))
        let index = try #require(built)
        let field = try #require(index.field(name))
        return (index, field)
    }

    @Test func eachFieldIsFoundByNameAndByKeyOnlyWhenInTheSet() throws {
        for (field, key) in MovedFields.keys {
            let name = key.name
            let (index, found) = try indexed(name)
            let others = MovedFields.keys.filter { $0.field != field }.reduce(MovedFields()) { $0.union($1.field) }
            for set in [field, others, MovedFields(), field.union(others)] {
                let expected = set.contains(field)
                #expect(set.contains(name: name) == expected, "\(name) in \(set.rawValue)")
                #expect(set.contains(found, in: index) == expected, "\(name) field in \(set.rawValue)")
            }
        }
    }

    @Test func namesThatOnlyResembleAFieldAreNotFound() throws {
        let all = MovedFields(rawValue: .max)
        // Beside the short ones: keys sharing a field's first eight bytes, longer and shorter.
        for name in ["ad_id_typ", "ad_id_type_", "platforms", "", "email", "Email_address", "email_addresses", "email_ad", "to_phone_numbe"] {
            #expect(!all.contains(name: name), "\(name)")
            let (index, field) = try indexed(name)
            #expect(!all.contains(field, in: index), "\(name)")
        }
        #expect(MovedFields.keys.count == 8)
    }
}
