import ArgumentParser
import Foundation
import MParticleSimulator
import Yams

/// `simulate --feeds FILE`: the simulator's inputs from a YAML file shaped like the relay's
/// `mparticle.feeds` (`name: {key: K, secret: S}`; a top-level `feeds:` around it is accepted
/// too), so a test or a trial can stand up any number of inputs without a relay configuration.
enum SimulatedFeedsFile {
    static func load(path: String) throws -> [SimulatedFeed] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("--feeds: cannot read \(path)")
        }
        return try parse(text, source: path)
    }

    static func parse(_ text: String, source: String) throws -> [SimulatedFeed] {
        let parsed: Any?
        do { parsed = try Yams.load(yaml: text) } catch { throw ValidationError("--feeds: malformed YAML in \(source): \(error)") }
        guard var entries = parsed as? [String: Any] else {
            throw ValidationError("--feeds: \(source) must be a mapping of input names to {key, secret}")
        }
        if entries.count == 1, let inner = entries["feeds"] as? [String: Any] { entries = inner }
        guard !entries.isEmpty else { throw ValidationError("--feeds: \(source) names no input") }
        var byKey: [String: String] = [:]
        return try entries.keys.sorted().map { name in
            guard let fields = entries[name] as? [String: Any] else {
                throw ValidationError("--feeds: \(name) in \(source) must be {key: ..., secret: ...}")
            }
            let unknown = Set(fields.keys).subtracting(["key", "secret", "platform"])
            guard unknown.isEmpty else { throw ValidationError("--feeds: \(name) in \(source) has unknown keys: \(unknown.sorted().joined(separator: ", "))") }
            guard let key = fields["key"].map({ "\($0)" }), !key.isEmpty, let secret = fields["secret"].map({ "\($0)" }), !secret.isEmpty else {
                throw ValidationError("--feeds: \(name) in \(source) needs a key and a secret")
            }
            if let other = byKey[key] { throw ValidationError("--feeds: \(name) and \(other) in \(source) have one key; one key is one mParticle input") }
            byKey[key] = name
            return SimulatedFeed(name: name, key: key, secret: secret)
        }
    }
}
