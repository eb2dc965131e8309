import Foundation
import AsyncHTTPClient
import MParticle
import NIOCore
import NIOSSL
import Relay
import Testing
@testable import Doctor

/// The mParticle lines: what each answer means for an input, inputs that share a key asked once,
/// and a host that does not answer reported once, as what it is.
@Suite(.timeLimit(.minutes(10))) struct MParticleChecksTests {
    func run(_ mparticle: FakeMParticle, configure: (inout RelayConfiguration) -> Void = { _ in }) async -> [DoctorCheck] {
        var configuration = goodConfiguration()
        configure(&configuration)
        let report = await Doctor(configuration: configuration, kafka: FakeKafka(), mparticle: mparticle).run(timeout: fakeRunTimeout)
        return report.checks.filter { $0.name.hasPrefix("mparticle") }
    }

    func answered(_ status: Int, percentage: Double? = nil) -> CredentialProbeOutcome {
        .answered(status: status, roundTrip: .milliseconds(34), rateLimitPercentageUsed: percentage)
    }

    @Test func eachAnswerMeansWhatMParticleSaysItMeans() {
        let input = InputToCheck(name: "ios-tablet", credentials: FeedCredentials(key: "tablet-key", secret: "tablet-S3CRET"))
        func check(_ outcome: CredentialProbeOutcome) -> DoctorCheck { MParticleChecks.input(baseURL: "https://s2s.mparticle.com", input, outcome) }

        let accepted = check(answered(202, percentage: 12))
        #expect(accepted.status == .passed)
        #expect(accepted.detail == "credentials accepted (202 in 34 ms; rate limit 12 % used)")
        #expect(check(answered(400)).status == .passed, "a 400 about the empty body means the credentials were taken")
        for status in [401, 403] {
            let refused = check(answered(status))
            #expect(refused.status == .failed)
            #expect(refused.detail.hasPrefix("credentials refused (\(status) in 34 ms) for key tabl****"))
            #expect(refused.fix?.contains("mparticle.feeds.ios-tablet.key and CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_TABLET_SECRET") == true)
            #expect(!refused.detail.contains("S3CRET") && refused.fix?.contains("S3CRET") == false)
        }
        #expect(check(answered(429)).status == .warning)
        #expect(check(answered(503)).status == .warning)
        #expect(check(answered(503)).detail.contains("credentials not refused"))
    }

    /// Inputs with one key are one mParticle input: asked once, under the first of them.
    @Test func inputsThatShareAKeyAreAskedOnce() async throws {
        let mparticle = FakeMParticle()
        let checks = await run(mparticle) { configuration in
            configuration.mparticle.feeds[.web] = configuration.mparticle.feeds[.ios]
            configuration.mparticle.feeds[.android] = configuration.mparticle.feeds[.ios]
        }
        #expect(mparticle.requests == ["ios-key-1234": 1, "unbound-key-1234": 1])
        try #require(checks.map(\.name) == ["mparticle host https://s2s.eu1.mparticle.com", "mparticle input ios", "mparticle input unbound"])
        #expect(checks[1].detail == "credentials accepted (202 in 34 ms); android, web share its key")
    }

    /// A host that answers nothing is one failure, said as what it is; the inputs wait for it.
    @Test func aHostThatDoesNotAnswerIsOneFailureSaidAsWhatItIs() {
        let inputs = [InputToCheck(name: "ios", credentials: FeedCredentials(key: "k1", secret: "s")),
                      InputToCheck(name: "web", credentials: FeedCredentials(key: "k2", secret: "s"))]
        let expected: [(TransportFailure, String)] = [
            (TransportFailure(.hostNotFound, "Name or service not known"), "the name s2s.eu2.mparticle.com does not resolve"),
            (TransportFailure(.tls, "TLS handshake failed: CERTIFICATE_VERIFY_FAILED"), "TLS failed, the certificate is not trusted here or does not name s2s.eu2.mparticle.com"),
            (TransportFailure(.refused, "refused"), "connection refused at s2s.eu2.mparticle.com:443"),
            (TransportFailure(.closed, "closed"), "the server closed the connection without answering"),
            (TransportFailure(.timeout, "deadline"), "no answer in time"),
        ]
        for (failure, detail) in expected {
            let checks = MParticleChecks.evaluate(baseURL: "https://s2s.eu2.mparticle.com", verifiesCertificates: true,
                                                  probes: inputs.map { ($0, .unreachable(failure)) })
            #expect(checks.map(\.status) == [.failed, .skipped, .skipped], "\(failure)")
            #expect(checks[0].detail.hasPrefix(detail), "\(checks[0].detail)")
        }
    }

    /// One input without an answer while the host answers the others fails on its own.
    @Test func oneInputWithoutAnAnswerFailsOnItsOwn() async {
        let checks = await run(FakeMParticle(["android-key-1234": .unreachable(TransportFailure(.timeout, "deadline exceeded"))]))
        #expect(checks.filter { $0.status == .failed }.map(\.name) == ["mparticle input android"])
        #expect(checks.first?.status == .passed)
    }

    @Test func noInputWithCredentialsFails() async throws {
        let checks = await run(FakeMParticle()) { $0.mparticle.feeds = [:] }
        try #require(checks.map(\.status) == [.skipped, .failed])
        #expect(checks[1].detail.contains("every event would be skipped as no_feed"))
    }

    @Test func theHostLineSaysHowItWasReached() {
        #expect(MParticleChecks.transportText(baseURL: "https://s2s.mparticle.com", verifiesCertificates: true) == "answers over HTTPS, certificate verified")
        #expect(MParticleChecks.transportText(baseURL: "https://127.0.0.1:8443", verifiesCertificates: false).contains("verification off"))
        #expect(MParticleChecks.transportText(baseURL: "http://127.0.0.1:8080", verifiesCertificates: true) == "answers over plain HTTP (no TLS)")
    }

    /// AsyncHTTPClient's and SwiftNIO's errors, read as what a person fixes.
    @Test func transportErrorsAreReadAsWhatTheyAre() {
        #expect(TransportFailure.classify(NIOSSLError.handshakeFailed(.sslError([]))).kind == .tls)
        #expect(TransportFailure.classify(HTTPClientError.tlsHandshakeTimeout).kind == .tls)
        #expect(TransportFailure.classify(HTTPClientError.connectTimeout).kind == .timeout)
        #expect(TransportFailure.classify(HTTPClientError.deadlineExceeded).kind == .timeout)
        #expect(TransportFailure.classify(HTTPClientError.remoteConnectionClosed).kind == .closed)
        #expect(TransportFailure.classify(IOError(errnoCode: ECONNREFUSED, reason: "connect")).kind == .refused)
        #expect(TransportFailure.classify(ChannelError.connectTimeout(.seconds(10))).kind == .timeout)
        let wrapped = EventsAPITransportError("no", underlying: HTTPClientError.connectTimeout)
        #expect(TransportFailure.classify(wrapped).kind == .timeout)
        #expect(TransportFailure.classify(EventsAPITransportError("no")).kind == .other)
        #expect(TransportFailure.concise("handshakeFailed(NIOSSL.BoringSSLError.sslError([Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /x/handshake.cc:320]))")
            == "TLS handshake failed: CERTIFICATE_VERIFY_FAILED")
    }
}
