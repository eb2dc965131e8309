import Yams

/// The file's shape: which keys a file may hold, and what each holds.
extension ConfigLoader {
    /// The keys a file may contain, derived from `ConfigKeys.all`: a typo is an error, not a
    /// silently ignored key that leaves a default in place.
    static let schema = Schema.object(of: ConfigKeys.all.map { (path: $0.components[...], kind: $0.kind) })

    /// What the loader accepts at a path of the file.
    indirect enum Schema: Sendable, Equatable {
        case scalar
        case list
        /// A section: the named fields, and only those.
        case object([String: Schema])
        /// Entries under names the file chooses, each holding the given shape.
        case map(Schema)

        /// The section holding `keys`, each given by its path below the section. A `.map` key's
        /// entries are single values, or objects of the keys below its placeholder segment
        /// (`mparticle.feeds.<input>.key`).
        static func object(of keys: [(path: ArraySlice<String>, kind: ConfigKeys.Kind)]) -> Schema {
            var fields: [String: Schema] = [:]
            for segment in Set(keys.compactMap(\.path.first)) {
                let here = keys.filter { $0.path.first == segment }
                let below = here.filter { $0.path.count > 1 }.map { (path: $0.path.dropFirst(), kind: $0.kind) }
                switch here.first(where: { $0.path.count == 1 })?.kind {
                case .scalar?: fields[segment] = .scalar
                case .list?: fields[segment] = .list
                case .map?:
                    // The keys below a map all start with its placeholder (`<input>`): drop it.
                    fields[segment] = .map(below.isEmpty ? .scalar : object(of: below.map { (path: $0.path.dropFirst(), kind: $0.kind) }))
                case nil: fields[segment] = object(of: below)
                }
            }
            return .object(fields)
        }
    }

    /// Checks `node` (the file's tree at `path`) against `schema`, naming the first key that does
    /// not fit, and collects the entries of every map by its path into `maps` (the loader reads a
    /// map's entries by the names the file gave them).
    static func validate(_ node: Node, against schema: Schema, path: String, maps: inout [String: [String: String]]) throws {
        let name = path.isEmpty ? "(top level)" : path
        switch schema {
        case .scalar:
            guard case .scalar = node else { throw ConfigError("\(name): expected a single value") }
        case .list:
            switch node {
            case .sequence(let sequence):
                for element in sequence {
                    guard case .scalar = element else { throw ConfigError("\(name): list entries must be single values") }
                }
            case .scalar: break
            default: throw ConfigError("\(name): expected a list")
            }
        case .object(let fields):
            if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" { return }
            guard case .mapping(let mapping) = node else { throw ConfigError("\(name): expected a mapping") }
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? ""
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                guard let childSchema = fields[key] else {
                    let known = fields.keys.sorted().joined(separator: ", ")
                    throw ConfigError("unknown key \(childPath) (known keys\(path.isEmpty ? "" : " under \(path)"): \(known))")
                }
                try validate(value, against: childSchema, path: childPath, maps: &maps)
            }
        case .map(let valueSchema):
            if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" { return }
            guard case .mapping(let mapping) = node else { throw ConfigError("\(name): expected a mapping") }
            var entries: [String: String] = [:]
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? ""
                try validate(value, against: valueSchema, path: "\(path).\(key)", maps: &maps)
                entries[key] = value.string ?? ""
            }
            maps[path] = entries
        }
    }
}
