import Foundation
import Relay

/// The mParticle lines: the host of `mparticle.base_url` answers (its name resolves, TLS
/// verifies), and each input's credentials are accepted, with the round trip and how much of the
/// rate limit is used.
///
/// One failure, one line: when the host does not answer at all, its line says why and the
/// inputs are not checked (rather than each failing with the same cause).
enum MParticleChecks {
    /// Asks about every input at once and logs the lines.
    static func run(probe: any CredentialProbe, settings: RelayConfiguration.MParticleSettings, log: CheckLog) async {
        let inputs = InputToCheck.all(settings)
        log.step("posting [] to \(settings.baseURL)/v2/bulkevents for each input")
        let outcomes = await withTaskGroup(of: (Int, CredentialProbeOutcome).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, await probe.postEmpty(baseURL: settings.baseURL, credentials: input.credentials)) }
            }
            var outcomes: [Int: CredentialProbeOutcome] = [:]
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        guard !Task.isCancelled else { return }
        log.add(contentsOf: evaluate(baseURL: settings.baseURL, verifiesCertificates: !settings.insecureSkipTLSVerify,
                                     probes: inputs.enumerated().compactMap { index, input in outcomes[index].map { (input, $0) } }))
    }

    static func evaluate(baseURL: String, verifiesCertificates: Bool, probes: [(input: InputToCheck, outcome: CredentialProbeOutcome)]) -> [DoctorCheck] {
        let hostName = "mparticle host \(baseURL)"
        guard !probes.isEmpty else {
            return [
                .skipped(hostName, "not checked: no input to ask with"),
                .failed("mparticle inputs", "none has a key and secret: every event would be skipped as no_feed",
                        fix: "set mparticle.feeds.<input>.key and its secret (CURRENTS_RELAY_MPARTICLE_FEEDS_<INPUT>_SECRET) for each input"),
            ]
        }
        let failures = probes.compactMap { probe -> TransportFailure? in
            if case .unreachable(let failure) = probe.outcome { return failure }
            return nil
        }
        guard failures.count < probes.count else {
            // Nothing answered: one line for the host, the inputs wait for it.
            return [host(hostName, baseURL: baseURL, failure: failures[0])]
                + probes.map { .skipped("mparticle input \($0.input.name)", "not checked: the host did not answer") }
        }
        return [.passed(hostName, transportText(baseURL: baseURL, verifiesCertificates: verifiesCertificates))]
            + probes.map { input(baseURL: baseURL, $0.input, $0.outcome) }
    }

    static func transportText(baseURL: String, verifiesCertificates: Bool) -> String {
        guard baseURL.lowercased().hasPrefix("https://") else { return "answers over plain HTTP (no TLS)" }
        return verifiesCertificates ? "answers over HTTPS, certificate verified"
            : "answers over HTTPS with certificate verification off (mparticle.insecure_skip_tls_verify)"
    }

    static func host(_ name: String, baseURL: String, failure: TransportFailure) -> DoctorCheck {
        let host = URLComponents(string: baseURL)?.host ?? baseURL
        switch failure.kind {
        case .hostNotFound:
            return .failed(name, "the name \(host) does not resolve (\(failure.message))",
                           fix: "set mparticle.base_url to your workspace's pod, https://s2s.mparticle.com (US1) or https://s2s.us2, s2s.eu1, s2s.au1 .mparticle.com, and check this machine's DNS")
        case .tls:
            return .failed(name, "TLS failed, the certificate is not trusted here or does not name \(host) (\(failure.message))",
                           fix: "if a TLS proxy or a private CA sits in between, add its CA to the system's trust store (update-ca-certificates); otherwise correct mparticle.base_url")
        case .refused:
            return .failed(name, "connection refused at \(host):\(port(baseURL))",
                           fix: "correct mparticle.base_url (scheme, host and port), and check that no proxy or firewall stops this machine reaching it")
        case .closed:
            return .failed(name, "the server closed the connection without answering (\(failure.message))",
                           fix: "check the scheme of mparticle.base_url (mParticle answers https:// only) and any proxy in between")
        case .timeout:
            return .failed(name, "no answer in time (\(failure.message))",
                           fix: "check that this machine may reach \(host) (proxy, firewall, egress rules), or give doctor a longer --timeout")
        case .other:
            return .failed(name, "no answer (\(failure.message))", fix: "check mparticle.base_url and the network path to \(host)")
        }
    }

    /// The port a URL connects to: its own, else its scheme's.
    static func port(_ baseURL: String) -> Int {
        let components = URLComponents(string: baseURL)
        return components?.port ?? (components?.scheme?.lowercased() == "http" ? 80 : 443)
    }

    static func input(baseURL: String, _ input: InputToCheck, _ outcome: CredentialProbeOutcome) -> DoctorCheck {
        let name = "mparticle input \(input.name)"
        let sharing = input.sharing.isEmpty ? "" : "; \(input.sharing.joined(separator: ", ")) \(input.sharing.count == 1 ? "shares" : "share") its key"
        switch outcome {
        case .unreachable(let failure):
            // The host answered the other inputs: this one failed on its own.
            let check = host(name, baseURL: baseURL, failure: failure)
            return .failed(name, check.detail + sharing, fix: check.fix ?? "")
        case .answered(let status, let roundTrip, let percentage):
            let timing = "\(status) in \(ReadableDuration.milliseconds(roundTrip))" + (percentage.map { "; rate limit \(Self.percent($0)) used" } ?? "")
            switch status {
            case 401, 403:
                let variable = "CURRENTS_RELAY_MPARTICLE_FEEDS_\(ConfigLoader.environmentName(ofInput: input.name))_SECRET"
                return .failed(name, "credentials refused (\(timing)) for key \(input.credentials.redactedKey): the key or secret is wrong, expired, or of another workspace or pod\(sharing)",
                               fix: "copy the \(input.name) input's key and secret from mParticle (Setup > Inputs > Feeds) into mparticle.feeds.\(input.name).key and \(variable), and check that mparticle.base_url is your workspace's pod")
            case 200..<300:
                return .passed(name, "credentials accepted (\(timing))\(sharing)")
            case 429:
                return .warning(name, "credentials accepted, but over the rate limit right now (\(timing))\(sharing)",
                                fix: "check what else sends to this input (another relay, a replay or redrive) or lower delivery.max_batches_per_second_per_feed; mParticle raises limits on request")
            case 400..<500:
                return .passed(name, "credentials accepted (\(timing): mParticle checked them, then refused the empty body)\(sharing)")
            default:
                return .warning(name, "credentials not refused, but mParticle is failing right now (\(timing))\(sharing)",
                                fix: "the relay retries such answers on its own; if it lasts, check mParticle's status page")
            }
        }
    }

    /// `12 %`, `0.5 %`.
    static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) %" : String(format: "%.1f %%", value)
    }
}
