import Foundation
import Testing
@testable import MParticle

@Suite(.timeLimit(.minutes(10))) struct EncodingTests {
    /// The body the relay sends (written into the HTTP client's buffer) is its batches joined
    /// into a JSON array, each batch its header's fields and its events: the expected bytes are
    /// written out here, not built with the code under test.
    @Test func aRequestBodyIsItsBatchesAsAJSONArray() throws {
        let batches = (0..<3).map { index in
            EncodedBatch(header: Array("\"environment\":\"production\",\"user_identities\":{\"customerid\":\"u\(index)\"}".utf8),
                         events: (0...index).map { Array("{\"event_type\":\"custom_event\",\"n\":\($0)}".utf8) })
        }
        let expected = Array(("[" +
            #"{"environment":"production","user_identities":{"customerid":"u0"},"events":[{"event_type":"custom_event","n":0}]},"# +
            #"{"environment":"production","user_identities":{"customerid":"u1"},"events":[{"event_type":"custom_event","n":0},{"event_type":"custom_event","n":1}]},"# +
            #"{"environment":"production","user_identities":{"customerid":"u2"},"events":[{"event_type":"custom_event","n":0},{"event_type":"custom_event","n":1},{"event_type":"custom_event","n":2}]}"# +
            "]").utf8)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(expected)) as? [[String: Any]], "the expected body is JSON")
        #expect(parsed.map { ($0["events"] as? [Any])?.count } == [1, 2, 3])
        let body = RequestBody(batches: batches)
        #expect(body.bytes == expected)
        #expect(body.count == expected.count)
        #expect(bulkRequestBody(batches) == expected)
        for (index, batch) in batches.enumerated() {
            var writer = JSONWriter()
            batch.write(into: &writer)
            let alone = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any], "batch \(index) alone is a JSON object")
            #expect((alone["events"] as? [Any])?.count == index + 1)
            #expect(writer.bytes.count == batch.byteCount)
        }
        #expect(RequestBody(batches: []).bytes == Array("[]".utf8))
        #expect(RequestBody(expected).bytes == expected)
    }

    @Test func eventsEncodeToTheEventsAPIShape() throws {
        let event = EventPayload(eventType: "custom_event", eventName: "Email Opens", customEventType: "other", timestampMs: 1_700_000_000_000,
                                 sourceMessageID: "id-1", customAttributes: ["quote": .string("say \"hi\"\n\u{1}é"), "n": .int(3), "f": .double(1.5), "b": .bool(true), "z": .null])
        let header = BatchHeader(environment: .development, userIdentities: ["customerid": .string("u")],
                                 userAttributes: ["$mobile": .string("+1")], deviceInfo: ["ios_idfv": .string("d")])
        let body = bulkRequestBody([EncodedBatch(header: header.encoded(), events: [event.encoded(), event.encoded()])])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        let batch = try #require(parsed.first)
        #expect(batch["environment"] as? String == "development")
        #expect(batch["schema_version"] as? Int == 2)
        #expect((batch["user_identities"] as? [String: String]) == ["customerid": "u"])
        #expect((batch["user_attributes"] as? [String: String]) == ["$mobile": "+1"])
        let events = try #require(batch["events"] as? [[String: Any]])
        #expect(events.count == 2)
        let data = try #require(events[0]["data"] as? [String: Any])
        #expect(events[0]["event_type"] as? String == "custom_event")
        #expect(data["event_name"] as? String == "Email Opens")
        #expect(data["custom_event_type"] as? String == "other")
        #expect(data["timestamp_unixtime_ms"] as? Int == 1_700_000_000_000)
        #expect(data["source_message_id"] as? String == "id-1")
        let attributes = try #require(data["custom_attributes"] as? [String: Any])
        #expect(attributes["quote"] as? String == "say \"hi\"\n\u{1}é")
        #expect(attributes["n"] as? Int == 3)
        #expect(attributes["f"] as? Double == 1.5)
        #expect(attributes["b"] as? Bool == true)
        #expect(attributes["z"] is NSNull)
    }

    /// `int` writes its digits in place; it must write what `String(_:)` does, at every width and sign.
    @Test(arguments: [Int64.min, Int64.min + 1, -1_700_000_000_000, -10, -9, -1, 0, 1, 9, 10, 99, 100,
                      1_700_000_000_000, 9_999_999_999_999, Int64.max - 1, Int64.max])
    func integersAreWrittenAsSwiftWritesThem(_ value: Int64) {
        var writer = JSONWriter()
        writer.raw("[")
        writer.int(value)
        writer.raw("]")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[\(value)]")
    }

    /// An encoded event held until mParticle accepts it keeps no spare room from its writer.
    @Test func compactedBytesAreTheSameBytesWithoutTheSpareRoom() {
        var writer = JSONWriter(capacity: 4_096)
        writer.raw("{\"event_type\":\"custom_event\"}")
        let compact = writer.bytes.compacted()
        #expect(compact == writer.bytes)
        #expect(writer.bytes.capacity >= 4_096)
        #expect(compact.capacity < 64, "capacity \(compact.capacity) for \(compact.count) bytes")
        #expect([UInt8]().compacted().isEmpty)
    }

    @Test func equalHeadersEncodeToEqualBytes() {
        let a = BatchHeader(environment: .production, userIdentities: ["customerid": .string("u"), "email": .string("e")])
        let b = BatchHeader(environment: .production, userIdentities: ["email": .string("e"), "customerid": .string("u")])
        #expect(a.encoded() == b.encoded())
    }

    @Test func basicAuthAndRedaction() {
        let credentials = FeedCredentials(key: "key-1234", secret: "top-secret")
        #expect(credentials.authorizationHeader == "Basic " + Data("key-1234:top-secret".utf8).base64EncodedString())
        #expect(!"\(credentials)".contains("top-secret"))
        #expect(!String(reflecting: credentials).contains("top-secret"))
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8($0 * 37 % 256) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        }
    }

    @Test func responseClasses() {
        #expect(ResponseClass(status: 202) == .accepted)
        #expect(ResponseClass(status: 429) == .rateLimited)
        #expect(ResponseClass(status: 401) == .unauthorized)
        #expect(ResponseClass(status: 403) == .unauthorized)
        #expect(ResponseClass(status: 400) == .rejected)
        #expect(ResponseClass(status: 413) == .rejected)
        #expect(ResponseClass(status: 503) == .serverError)
        #expect(ResponseClass(status: 500) == .serverError)
    }
}
