import Foundation
import MParticle

/// `mparticle.feeds`: the named inputs and their credentials.
extension ConfigLoader {
    /// The environment variable part of an input's name, by the rule every key's override follows
    /// (swift-configuration's environment provider, which reads them): `_` between a lower-case
    /// letter and an upper-case one, then upper case, anything but a letter or digit as `_`. So
    /// `ios-tablet` is `CURRENTS_RELAY_MPARTICLE_FEEDS_IOS_TABLET_SECRET` and `iPad` is `..._I_PAD_...`.
    /// Used to refuse two names that share a variable and to name the variable in messages.
    public static func environmentName(ofInput name: String) -> String {
        var result = ""
        var previous: Character?
        for character in name {
            if let previous, previous.isLowercase, character.isUppercase { result.append("_") }
            result += character.isLetter || character.isNumber ? character.uppercased() : "_"
            previous = character
        }
        return result
    }

    /// Reads the inputs declared under `mparticle.feeds` (and the built-in four, which need no
    /// declaration: their credentials may come from the environment alone), checks them, and
    /// sets `settings.catalog` and `settings.feeds`.
    ///
    /// Refused, naming the key: a name with other characters than letters, digits, `-` and `_`;
    /// two names that differ only in case, or that map to one environment name; an unknown
    /// platform; a named input without `platform`, or without a key and secret; a key without a
    /// secret or the reverse; two inputs with one key and different secrets.
    ///
    /// `string` reads a key at its path (the placeholder filled in), as a secret or not.
    static func readInputs(into settings: inout RelayConfiguration.MParticleSettings, declared: [String],
                           string: (_ path: String, _ secret: Bool) -> String?) throws {
        let keys = ConfigKeys.MParticle.self
        let builtIn = Set(Feed.allCases.map(\.name))
        var named: [(name: String, platform: FeedPlatform)] = []
        var byFoldedName: [String: String] = Dictionary(uniqueKeysWithValues: builtIn.map { ($0, $0) })
        var byEnvironmentName: [String: String] = Dictionary(uniqueKeysWithValues: builtIn.map { (environmentName(ofInput: $0), $0) })
        for name in declared.sorted() {
            let path = keys.feeds.path(name)
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.nameCharacters.contains($0)) }) else {
                throw ConfigError("\(path): an input's name may hold only letters, digits, - and _")
            }
            let platformText = string(keys.feedPlatform.path(name), keys.feedPlatform.isSecret)
            if builtIn.contains(name) {
                if let platformText, platformText.lowercased() != name {
                    throw ConfigError("\(keys.feedPlatform.path(name)): the built-in input \(name) is an \(name) input; name another input for \(platformText) (e.g. \(name)-2 with platform: \(platformText))")
                }
                continue
            }
            if let other = byFoldedName[name.lowercased()] {
                throw ConfigError("\(path): differs from the input \(other) only in case; input names are told apart regardless of case")
            }
            if let other = byEnvironmentName[environmentName(ofInput: name)] {
                throw ConfigError("\(path): has the same environment name as the input \(other) (\(keys.feeds.environmentVariable(name))_...); rename one")
            }
            guard let platformText else {
                throw ConfigError("\(keys.feedPlatform.path(name)): a named input needs its platform (ios, android, web or unbound)")
            }
            guard let platform = FeedPlatform(rawValue: platformText.lowercased()) else {
                throw ConfigError("\(keys.feedPlatform.path(name)): unknown platform \"\(platformText)\" (expected ios, android, web or unbound)")
            }
            byFoldedName[name.lowercased()] = name
            byEnvironmentName[environmentName(ofInput: name)] = name
            named.append((name, platform))
        }
        settings.catalog = FeedCatalog(uniqueNamed: named)

        var feeds: [Feed: FeedCredentials] = [:]
        for feed in settings.catalog.feeds {
            let path = keys.feeds.path(feed.name)
            let keyVariable = keys.feedKey.environmentVariable(feed.name), secretVariable = keys.feedSecret.environmentVariable(feed.name)
            // Environment first, through the reader like every key (the variables are their names there).
            switch (string(keys.feedKey.path(feed.name), keys.feedKey.isSecret), string(keys.feedSecret.path(feed.name), keys.feedSecret.isSecret)) {
            case let (key?, secret?): feeds[feed] = FeedCredentials(key: key, secret: secret)
            case (.some, nil): throw ConfigError("\(path): a key without a secret (set \(keys.feedSecret.name), or \(secretVariable))")
            case (nil, .some): throw ConfigError("\(path): a secret without a key")
            case (nil, nil):
                if !builtIn.contains(feed.name) {
                    throw ConfigError("\(path): an input without a key and secret (set them, or \(keyVariable) and \(secretVariable))")
                }
            }
        }
        for (feed, first) in FeedRouter.sharedKeys(catalog: settings.catalog, credentials: feeds) where feeds[feed]!.secret != feeds[first]!.secret {
            throw ConfigError("\(keys.feeds.path(feed.name)): has the key of \(keys.feeds.path(first.name)) with another secret; one mParticle input has one key and one secret")
        }
        settings.feeds = feeds
    }
}

private extension CharacterSet {
    static let nameCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
}
