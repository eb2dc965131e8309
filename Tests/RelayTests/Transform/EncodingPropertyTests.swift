import Currents
import Foundation
import Kafka
import MParticle
import MParticleSimulator
import Testing
@testable import Relay

/// Property: whatever event the decoder accepts, the relay either parks it with a reason, skips it
/// with a reason, or encodes it into requests that mParticle's rules (the simulator's validator)
/// accept, with its id intact. Thousands of generated events, seeded so a failure reproduces.
@Suite(.timeLimit(.minutes(10))) struct EncodingPropertyTests {
    static func transform(_ environment: MParticleEnvironment) -> RecordTransform {
        RecordTransform(
            mapper: EventMapper(environment: environment, identityKey: "customerid",
                                router: FeedRouter(configuredFeeds: Set(Feed.allCases), apps: [:]), selection: EventSelection()),
            maxAgeMs: 48 * 3_600_000, historicalAfterMs: 30 * 86_400_000)
    }

    /// Currents' seeded generator, with the few draws the property needs.
    typealias Generator = SplitMix64

    static let knownFields = ["email_address", "platform", "device_model", "device_id", "ad_id", "ad_id_type", "ad_tracking_enabled",
                              "to_phone_number", "user_phone_number", "app_id", "campaign_name", "canvas_step_name", "content_card_id",
                              "send_id", "url", "os_version", "timezone", "language", "country", "message_extras", "user_id"]
    static let alphabet: [String] = ["a", "Z", "0", " ", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "ß", "中", "😀", "👩‍👩‍👧",
                                     "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFD}", "\u{10FFFF}", "\n", "\t", "<", "&", "%", "{", "]"]

    static func text(_ random: inout Generator) -> String {
        let length: Int
        switch random.below(100) {
        case 0..<60: length = random.below(12)
        case 60..<90: length = random.below(300)
        case 90..<99: length = 4_000 + random.below(200)
        default: length = 10_000 + random.below(10_000)
        }
        var result = ""
        let run = random.pick(alphabet)
        for _ in 0..<length { result += random.chance(70) ? run : random.pick(alphabet) }
        return result
    }

    /// JSON text for a string, escaping what JSON requires and \u-escaping the rest at random.
    static func quoted(_ text: String, _ random: inout Generator) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || (scalar.value > 0x7E && random.chance(20)):
                for unit in String(scalar).utf16 {
                    let digits = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func value(_ random: inout Generator, depth: Int = 0) -> String {
        switch random.below(depth > 2 ? 7 : 9) {
        case 0: return quoted(text(&random), &random)
        case 1: return String(random.pick([Int64.min, Int64.max, 0, -1, 1, 1_700_000_000, Int64(random.below(1_000_000))]))
        case 2: return random.pick(["0.5", "-0.0", "1e308", "-1e-300", "3.141592653589793", "1E5", "123456789012345678901234567890"])
        case 3: return random.chance(50) ? "true" : "false"
        case 4: return "null"
        case 5: return quoted(String(random.below(100_000)), &random)
        case 6: return quoted("", &random)
        case 7: return "[" + (0..<random.below(4)).map { _ in value(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        default: return "{" + (0..<random.below(4)).map { _ in quoted(text(&random), &random) + ":" + value(&random, depth: depth + 1) }.joined(separator: ",") + "}"
        }
    }

    static func envelope(_ random: inout Generator, index: Int, nowSeconds: Int64) -> String {
        let type = random.chance(95) ? random.pick(SampleEvents.allTypes) : quoted(text(&random), &random).dropFirst().dropLast().description
        var user: [String] = []
        if random.chance(90) { user.append("\"external_user_id\":" + (random.chance(80) ? quoted(text(&random), &random) : value(&random))) }
        if random.chance(50) { user.append("\"user_id\":" + value(&random)) }
        var properties: [String] = []
        for _ in 0..<random.below(random.chance(5) ? 400 : 12) {
            let name = random.chance(60) ? random.pick(knownFields) : text(&random)
            properties.append(quoted(name, &random) + ":" + (name == "platform" && random.chance(70)
                ? quoted(random.pick(["ios", "android", "web", "IOS", "kindle", "", "roku"]), &random) : value(&random)))
        }
        let time = random.chance(90) ? String(nowSeconds - Int64(random.below(90 * 86_400))) : random.pick(["0", "\"1700000000\"", "1700000000.9", "99999999999"])
        let id = random.chance(95) ? "\"prop-\(index)\"" : value(&random)
        return "{\"event_type\":\(quoted(type, &random)),\"id\":\(id),\"time\":\(time),\"user\":{\(user.joined(separator: ","))},\"properties\":{\(properties.joined(separator: ","))}}"
    }

    /// Where two strings part, as scalar values, for a readable failure.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        let common = zip(x, y).prefix { $0 == $1 }.count
        func around(_ s: [Unicode.Scalar]) -> String { s[common..<min(s.count, common + 4)].map { String($0.value, radix: 16) }.joined(separator: " ") }
        return "lengths \(x.count)/\(y.count), first difference at \(common): [\(around(x))] vs [\(around(y))]"
    }

    // Kept small enough (about a second each in a debug build) not to starve the suite's other
    // tests of the two cooperative threads; `scripts/fuzz` goes much further.
    @Test(arguments: [UInt64(1), 2])
    func anyDecodedEventEncodesToRequestsTheSimulatorAccepts(seed: UInt64) throws {
        var random = Generator(seed: seed)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let transform = Self.transform(.development)
        let partition = TopicPartition("braze.currents", 0)
        var counts = (sent: 0, parked: 0, skipped: 0)
        for index in 0..<500 {
            let text = Self.envelope(&random, index: index, nowSeconds: nowMs / 1000)
            let message = KafkaMessage(topicPartition: partition, offset: Int64(index), timestampMs: nowMs, key: nil, value: Array(text.utf8))
            // The generator writes valid JSON: the decoder must read it (a bad field may still make the event poison).
            if case .failure(let error) = try #require(Optional(CurrentsDecoder().decode(value: message.value, eventTypeHeader: nil, topic: partition.topic))) {
                Issue.record("seed \(seed) #\(index): valid JSON refused: \(error)")
                continue
            }
            let outcome = transform.apply(message, wallNow: nowMs)
            #expect(outcome.sends.count + outcome.parks.count + outcome.skips.count == 1, "seed \(seed) #\(index): one event, one outcome")
            counts.sent += outcome.sends.count
            counts.parked += outcome.parks.count
            counts.skipped += outcome.skips.count
            for send in outcome.sends {
                // Alone, in a request of its own...
                var batcher = FeedBatcher(feed: send.feed, historical: send.historical)
                let unit = EventUnit(ack: RecordAck(slot: 0, epoch: 0, offset: Int64(index)), ageBaseMs: nowMs, eventID: send.eventID)
                _ = batcher.add(header: send.header, event: send.payload, unit: unit, now: 0)
                for request in batcher.takeAll() {
                    switch EventsAPIValidator.validate(body: request.body, bulk: true, feed: "\(send.feed)") {
                    case .success(let accepted):
                        let got = accepted.events.first?.sourceMessageID ?? ""
                        #expect(accepted.events.count == 1 && got == send.eventID,
                                "seed \(seed) #\(index): the id survives: \(Self.firstDifference(got, send.eventID))")
                    case .failure(let refusal):
                        Issue.record("seed \(seed) #\(index): refused (\(refusal.status)) \(refusal.message)\n\(text.prefix(2000))")
                    }
                }
            }
        }
        // The generator must reach every outcome, or the property says little.
        #expect(counts.sent > 150 && counts.parked > 0 && counts.skipped > 0, "seed \(seed): \(counts)")
    }

    @Test func manyEventsBatchedTogetherAreAccepted() throws {
        var random = Generator(seed: 99)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let transform = Self.transform(.production)
        let partition = TopicPartition("braze.currents", 0)
        var batchers: [String: FeedBatcher] = [:]
        var requests: [BulkRequest] = []
        var sent: [String] = []
        for index in 0..<1500 {
            let text = Self.envelope(&random, index: index, nowSeconds: nowMs / 1000)
            let message = KafkaMessage(topicPartition: partition, offset: Int64(index), timestampMs: nowMs, key: nil, value: Array(text.utf8))
            for send in transform.apply(message, wallNow: nowMs).sends {
                sent.append(send.eventID)
                let unit = EventUnit(ack: RecordAck(slot: 0, epoch: 0, offset: Int64(index)), ageBaseMs: nowMs, eventID: send.eventID)
                if let request = batchers["\(send.feed) \(send.historical)", default: FeedBatcher(feed: send.feed, historical: send.historical)]
                    .add(header: send.header, event: send.payload, unit: unit, now: 0) {
                    requests.append(request)
                }
            }
        }
        for key in batchers.keys { requests += batchers[key]!.takeAll() }
        var accepted: [String] = []
        for request in requests {
            switch EventsAPIValidator.validate(body: request.body, bulk: true, feed: "\(request.feed)") {
            case .success(let result): accepted += result.events.compactMap(\.sourceMessageID)
            case .failure(let refusal): Issue.record("a request of \(request.eventCount) events refused (\(refusal.status)): \(refusal.message)")
            }
        }
        #expect(requests.count > 10)
        #expect(accepted.sorted() == sent.sorted())
    }
}

extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
}
