// libFuzzer entry point over the path every Kafka record takes: decode → classify → map → encode
// → batch, checked against the simulator's copy of mParticle's validation and, for the direct
// transcoder, against the general path. Built only by
// `scripts/fuzz` (CURRENTS_RELAY_FUZZ=1, --sanitize=fuzzer --sanitize=address; libFuzzer brings `main`).
//
// The entry point's C signature is the one raw pointer outside the Kafka target: libFuzzer
// calls it, and it copies the bytes into an array at once.

import Kafka
import MParticle
import MParticleSimulator
import Relay

@_cdecl("LLVMFuzzerTestOneInput")
public func relayFuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte picks the record's shape around the bytes: an event_type header, a missing
    // Kafka timestamp (age then comes from the events' own time), or neither.
    let mode = bytes.first ?? 0
    let value = Array(bytes.dropFirst())
    let headers = mode & 1 == 1 ? [KafkaHeader(key: "event_type", value: Array("users.messages.email.Open".utf8))] : []
    let message = KafkaMessage(topicPartition: TopicPartition("users.messages.email.Send", 0), offset: 0,
                               timestampMs: mode & 2 == 2 ? nil : fuzzNowMs, key: nil, value: value, headers: headers)
    let outcome = transform.apply(message, wallNow: fuzzNowMs)
    // The direct transcoder must agree with the general path on every record it takes.
    guard outcome == generalTransform.apply(message, wallNow: fuzzNowMs) else {
        fatalError("the direct transcoder and the general path disagree")
    }
    // Nothing vanishes: every record ends sent, parked or skipped with a reason.
    guard !outcome.sends.isEmpty || !outcome.parks.isEmpty || !outcome.skips.isEmpty else {
        fatalError("a record ended with no outcome")
    }
    for park in outcome.parks where park.message.isEmpty {
        fatalError("a park without a message")
    }
    // Whatever was sendable must be accepted by mParticle's rules, alone and batched together.
    var batchers: [String: FeedBatcher] = [:]
    var requests: [BulkRequest] = []
    for (index, send) in outcome.sends.enumerated() {
        let unit = EventUnit(ack: RecordAck(slot: 0, epoch: 0, offset: Int64(index)), ageBaseMs: fuzzNowMs, eventID: send.eventID)
        if let request = batchers["\(send.feed) \(send.historical)", default: FeedBatcher(feed: send.feed, historical: send.historical)]
            .add(header: send.header, event: send.payload, unit: unit, now: 0) {
            requests.append(request)
        }
    }
    for feed in batchers.keys { requests += batchers[feed]!.takeAll() }
    for request in requests {
        if case .failure(let refusal) = EventsAPIValidator.validate(body: request.body, bulk: true, feed: "\(request.feed)") {
            fatalError("the simulator refused an encoded request (\(refusal.status)): \(refusal.message)")
        }
    }
    return 0
}
