import Testing
@testable import Currents

@Suite(.timeLimit(.minutes(10))) struct CurrentsDecoderTests {
    let decoder = CurrentsDecoder()

    func decode(_ text: String?, header: String? = nil, topic: String = "braze.currents") -> Result<[Result<CurrentsEvent, CurrentsDecodeError>], CurrentsDecodeError> {
        decoder.decode(value: text.map { Array($0.utf8) }, eventTypeHeader: header, topic: topic)
    }

    func single(_ text: String, header: String? = nil, topic: String = "braze.currents") throws -> CurrentsEvent {
        let results = try decode(text, header: header, topic: topic).get()
        #expect(results.count == 1)
        return try results[0].get()
    }

    @Test func theConnectorEnvelopeIsFlattened() throws {
        let event = try single("""
        {"event_type":"users.messages.email.Send","id":"e1","time":1700000000,
         "user":{"user_id":"b1","external_user_id":"u1","device_id":"d1","timezone":"UTC"},
         "properties":{"email_address":"a@b.c","campaign_id":"c1","id":"must-not-override"}}
        """)
        #expect(event.eventType == "users.messages.email.Send")
        #expect(event.id == "e1")
        #expect(event.time == 1_700_000_000)
        #expect(event.externalUserID == "u1")
        #expect(event.string("device_id") == "d1")
        #expect(event.string("email_address") == "a@b.c")
        #expect(event.fields["id"] == .string("e1"))
    }

    @Test func aBodyOfManyEventsYieldsEachAndIsolatesTheBadOnes() throws {
        let results = try decode("""
        {"events":[
          {"event_type":"users.canvas.Entry","id":"a","time":1,"user":{"external_user_id":"u"},"properties":{}},
          {"event_type":"users.canvas.Entry","time":1},
          "nonsense",
          {"event_type":"users_canvas_abort","id":"d","time":2,"user":{},"properties":{}}
        ]}
        """).get()
        #expect(results.count == 4)
        #expect(try results[0].get().id == "a")
        #expect(throws: CurrentsDecodeError.self) { try results[1].get() }
        #expect(throws: CurrentsDecodeError.self) { try results[2].get() }
        #expect(try results[3].get().eventType == "users.canvas.Abort")
    }

    @Test func aFlatEventTakesItsTypeFromTheHeaderOrTheTopic() throws {
        let flat = "{\"id\":\"f\",\"time\":\"1700000000\",\"external_user_id\":\"u\",\"platform\":\"ios\"}"
        #expect(try single(flat, header: "users.messages.pushnotification.Send").eventType == "users.messages.pushnotification.Send")
        #expect(try single(flat, topic: "prod.users.messages.email.Open").eventType == "users.messages.email.Open")
        #expect(try single(flat, header: "users_campaigns_abort").eventType == "users.campaigns.Abort")
        #expect(try single(flat, header: "x").time == 1_700_000_000)
        let results = try decode(flat).get()
        #expect(throws: CurrentsDecodeError.self) { try results[0].get() }
    }

    @Test func badRecordsAreRefusedWithAReason() throws {
        #expect(throws: CurrentsDecodeError.self) { try decode(nil).get() }
        #expect(throws: CurrentsDecodeError.self) { try decode("").get() }
        #expect(throws: CurrentsDecodeError.self) { try decode("{not json").get() }
        #expect(throws: CurrentsDecodeError.self) { try decode("[1,2]").get() }
        #expect(throws: CurrentsDecodeError.self) { try decode("\"text\"").get() }
        #expect(throws: CurrentsDecodeError.self) { try decode("{\"events\":5}").get() }
        if case .failure(let error) = decode("[1]") {
            #expect(error.message.contains("an array"))
        } else {
            Issue.record("a record holding [1] decoded")
        }
        // A record that is an event with a field missing or wrong: the record decodes, its one
        // event does not.
        for missing in ["{\"event_type\":\"users.canvas.Entry\",\"time\":1}", "{\"event_type\":\"users.canvas.Entry\",\"id\":\"x\"}",
                        "{\"event_type\":\"users.canvas.Entry\",\"id\":\"x\",\"time\":\"soon\"}"] {
            let results = try decode(missing).get()
            try #require(results.count == 1, "\(missing)")
            #expect(throws: CurrentsDecodeError.self, "\(missing)") { try results[0].get() }
        }
    }

    @Test func sampleEventsDecode() throws {
        for record in SampleEvents(seed: 7).records(count: 200) {
            let event = try single(String(decoding: record.value, as: UTF8.self))
            #expect(event.id == record.id)
            #expect(event.eventType == record.eventType)
            #expect(event.externalUserID == record.externalUserID)
            #expect(event.platform == record.platform)
        }
    }
}
