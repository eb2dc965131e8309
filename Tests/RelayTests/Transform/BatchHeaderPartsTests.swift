import MParticle
import Testing
@testable import Relay

/// `BatchHeaderParts.encoded` (the direct path's header) against `BatchHeader.encoded` (the general
/// path's) for every combination of parts, identity keys on both sides of `email` in sort order,
/// and with and without `source_request_id`: equal headers must be equal bytes, or events of
/// one user would stop sharing batches.
@Suite(.timeLimit(.minutes(10))) struct BatchHeaderPartsTests {
    @Test(arguments: ["customerid", "email", "other_id_2", "Customer", "zz", "\u{e9}mail"])
    func encodesAsTheBatchHeaderDoes(identityKey: String) {
        var checked = 0
        for mask in 0..<(1 << 7) {
            var parts = BatchHeaderParts(externalUserID: "user \"1\"")
            if mask & 1 != 0 { parts.email = "a@b.c" }
            if mask & 2 != 0 { parts.mobile = "+1555" }
            if mask & 4 != 0 { parts.deviceID = "dev-1" }
            if mask & 8 != 0 { parts.deviceModel = "Pixel 8" }
            if mask & 16 != 0 { parts.platform = "Android" }
            if mask & 32 != 0 {
                parts.advertisingKey = ["ios_advertising_id", "android_advertising_id", "microsoft_advertising_id", "roku_advertising_id"][mask % 4]
                parts.advertisingID = "ad-\u{2028}"
            }
            if mask & 64 != 0 { parts.limitAdTracking = mask % 3 == 0 }
            for sourceRequestID in [nil, "req-1"] {
                for environment in [MParticleEnvironment.production, .development] {
                    let header = parts.header(environment: environment, identityKey: identityKey, sourceRequestID: sourceRequestID)
                    let direct = parts.encoded(environment: environment, identityKey: identityKey, sourceRequestID: sourceRequestID)
                    #expect(direct == header.encoded(), "mask \(mask): \(String(decoding: direct, as: UTF8.self))")
                    checked += 1
                }
            }
        }
        #expect(checked == 512)
    }

    @Test func theEmailIdentityReplacesAnIdentityKeyThatIsEmailToo() {
        var parts = BatchHeaderParts(externalUserID: "u1")
        parts.email = "a@b.c"
        let header = parts.header(environment: .production, identityKey: "email", sourceRequestID: nil)
        #expect(header.userIdentities == ["email": .string("a@b.c")])
        let other = parts.header(environment: .production, identityKey: "customerid", sourceRequestID: nil)
        #expect(other.userIdentities == ["customerid": .string("u1"), "email": .string("a@b.c")])
        #expect(String(decoding: parts.encoded(environment: .production, identityKey: "customerid", sourceRequestID: nil), as: UTF8.self)
            == #""environment":"production","schema_version":2,"user_identities":{"customerid":"u1","email":"a@b.c"},"device_info":{}"#)
    }

    /// The mapper encodes its headers' start once; changing its environment or identity key
    /// changes what it encodes.
    @Test func aMapperEncodesWithItsCurrentEnvironmentAndIdentityKey() throws {
        var mapper = EventMapper(environment: .production, identityKey: "customerid",
                                 router: FeedRouter(configuredFeeds: [.unbound], apps: [:]), selection: EventSelection())
        var parts = BatchHeaderParts(externalUserID: "u1")
        parts.email = "a@b.c"
        let plan = EventMapper.Plan(mapping: try #require(MappingTable.mapping(for: "users.messages.email.Send")), feed: .unbound,
                                    parts: parts, moved: [], sourceRequestID: nil)
        func text() -> String { String(decoding: mapper.encodedHeader(plan), as: UTF8.self) }
        #expect(text() == #""environment":"production","schema_version":2,"user_identities":{"customerid":"u1","email":"a@b.c"},"device_info":{}"#)
        mapper.environment = .development
        #expect(text() == #""environment":"development","schema_version":2,"user_identities":{"customerid":"u1","email":"a@b.c"},"device_info":{}"#)
        mapper.identityKey = "email"
        #expect(text() == #""environment":"development","schema_version":2,"user_identities":{"email":"a@b.c"},"device_info":{}"#)
        parts.email = nil
        let withoutEmail = EventMapper.Plan(mapping: plan.mapping, feed: .unbound, parts: parts, moved: [], sourceRequestID: "r")
        #expect(String(decoding: mapper.encodedHeader(withoutEmail), as: UTF8.self)
            == #""environment":"development","source_request_id":"r","schema_version":2,"user_identities":{"email":"u1"},"device_info":{}"#)
    }
}
