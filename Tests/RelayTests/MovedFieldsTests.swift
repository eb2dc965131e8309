import Testing
@testable import Relay

/// The fields a plan moves to the batch header are found by name (general path) and by key
/// bytes (direct path) alike, and only when they are in the set.
@Suite struct MovedFieldsTests {
    @Test func eachFieldIsFoundByNameAndByKeyOnlyWhenInTheSet() {
        for (field, name, _) in MovedFields.keys {
            let others = MovedFields.keys.filter { $0.field != field }.reduce(MovedFields()) { $0.union($1.field) }
            for set in [field, others, MovedFields(), field.union(others)] {
                let expected = set.contains(field)
                #expect(set.contains(name: name) == expected, "\(name) in \(set.rawValue)")
                #expect(set.contains(key: Array(name.utf8)[...]) == expected, "\(name) bytes in \(set.rawValue)")
            }
        }
    }

    @Test func namesThatOnlyResembleAFieldAreNotFound() {
        let all = MovedFields(rawValue: .max)
        for name in ["ad_id_typ", "ad_id_type_", "platforms", "", "email", "Email_address"] {
            #expect(!all.contains(name: name), "\(name)")
            #expect(!all.contains(key: Array(name.utf8)[...]), "\(name)")
        }
        #expect(MovedFields.keys.count == 8)
    }
}
