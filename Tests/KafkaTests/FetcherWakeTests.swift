@testable import Kafka
import Testing

/// When the consumer wakes librdkafka's fetchers: at an empty poll, once half a queue's worth was
/// taken since the last wake.
@Suite(.timeLimit(.minutes(10))) struct FetcherWakeTests {
    @Test func halfTheQueueBytesArmTheWakeAndTheEmptyPollFiresIt() {
        var wake = FetcherWake(maxQueuedKilobytes: 16, minQueuedMessages: 100_000)
        #expect(wake.byteThreshold == 8 * 1024)
        for _ in 0..<7 { wake.took(bytes: 1024) }
        #expect(!wake.armed)
        wake.took(bytes: 1024)
        #expect(wake.armed)
        let woke = wake.queueRanDry()
        #expect(woke)
        // Disarmed: the next empty poll, with nothing taken since, wakes nobody.
        let wokeAgain = wake.queueRanDry()
        #expect(!wokeAgain)
    }

    @Test func halfTheQueuedMessagesArmItToo() {
        var wake = FetcherWake(maxQueuedKilobytes: 65_536, minQueuedMessages: 10)
        for _ in 0..<4 { wake.took(bytes: 10) }
        #expect(!wake.armed)
        wake.took(bytes: 10)
        let woke = wake.queueRanDry()
        #expect(woke)
    }

    @Test func aTrickleWakesOncePerHalfAQueueAndAnIdleConsumerNever() {
        var wake = FetcherWake(maxQueuedKilobytes: 16, minQueuedMessages: 100_000)
        // 3 KB between empty polls, 300 KB in all: one wake per 8 KB taken.
        var wakes = 0
        for _ in 0..<100 {
            for _ in 0..<3 { wake.took(bytes: 1024) }
            if wake.queueRanDry() { wakes += 1 }
        }
        #expect(wakes == 33)
        for _ in 0..<100 {
            let woke = wake.queueRanDry()
            #expect(!woke)
        }
    }
}
