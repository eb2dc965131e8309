import Foundation
import Testing

/// `docs/architecture.md` is the map a newcomer reads first: these tests keep it true. Every path
/// it names exists, and the folders of `Sources/Relay` use each other only in the order it gives
/// (a folder may use the folders listed before it, never one listed after it).
@Suite(.timeLimit(.minutes(10))) struct ArchitectureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let relaySources = root.appendingPathComponent("Sources/Relay")

    static func architecture() throws -> String {
        try String(contentsOf: root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
    }

    /// Every `.swift` file under `Sources/Relay`, by its path relative to that folder.
    static func relayFiles() throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: relaySources.path)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".swift") { files.append(path) }
        }
        return files.sorted()
    }

    /// The folders of `Sources/Relay` in the document's order, bottom first; `(root)` stands for
    /// the files at the top of the module.
    static func layers(in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            guard let match = line.firstMatch(of: /^\s*\d+\. `([^`]+)`/) else { return nil }
            let name = String(match.1)
            return name.hasSuffix("/") ? String(name.dropLast()) : "(root)"
        }
    }

    /// The paths the document names in backquotes: `Sources/...`, `Tests/...`, a `Folder/` of the
    /// module, or a file name (`X.swift`, found anywhere under `Sources/` and `Tests/`).
    @Test func everyPathTheDocumentNamesExists() throws {
        let text = try Self.architecture()
        let names = text.matches(of: /`([A-Za-z0-9_+\/.\-]+)`/).map { String($0.1) }
        let allFiles = try ["Sources", "Tests"].flatMap { top -> [String] in
            let enumerator = FileManager.default.enumerator(atPath: Self.root.appendingPathComponent(top).path)
            var found: [String] = []
            while let path = enumerator?.nextObject() as? String { found.append((path as NSString).lastPathComponent) }
            return found
        }
        var checked = 0
        var missing: [String] = []
        for name in names {
            let path: URL
            if name.hasPrefix("Sources/") || name.hasPrefix("Tests/") || name.hasPrefix("docs/") {
                path = Self.root.appendingPathComponent(name)
            } else if name.hasSuffix("/"), name.first?.isUppercase == true {
                path = Self.relaySources.appendingPathComponent(name)
            } else if name.hasSuffix(".swift") {
                checked += 1
                if !allFiles.contains(name) { missing.append(name) }
                continue
            } else {
                continue
            }
            checked += 1
            if !FileManager.default.fileExists(atPath: path.path) { missing.append(name) }
        }
        #expect(checked >= 40, "the document names the files of a record's path and of every folder (found \(checked))")
        #expect(missing.isEmpty, "docs/architecture.md names paths that do not exist: \(missing)")
    }

    /// Every folder of the module is in the document's list, and nothing in the list is missing.
    @Test func theLayersAreTheModulesFolders() throws {
        let layers = Self.layers(in: try Self.architecture())
        let folders = Set(try Self.relayFiles().map { $0.contains("/") ? String($0.split(separator: "/")[0]) : "(root)" })
        #expect(Set(layers) == folders, "folders of Sources/Relay: \(folders.sorted()); listed: \(layers)")
        #expect(Set(layers).count == layers.count, "a folder is listed once")
    }

    /// A folder names no type declared in a folder after it in the list: arrows point one way.
    @Test func foldersUseOnlyTheFoldersBelowThem() throws {
        let layers = Self.layers(in: try Self.architecture())
        let rank = Dictionary(uniqueKeysWithValues: layers.enumerated().map { ($1, $0) })
        var declaredIn: [String: String] = [:]
        var sources: [(folder: String, path: String, code: String)] = []
        for path in try Self.relayFiles() {
            let folder = path.contains("/") ? String(path.split(separator: "/")[0]) : "(root)"
            let text = try String(contentsOf: Self.relaySources.appendingPathComponent(path), encoding: .utf8)
            // Comments may name anything; only code is an arrow.
            let code = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { line in line.firstRange(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }
                .joined(separator: "\n")
            sources.append((folder, path, code))
            for match in code.matches(of: /(?m)^(?:public |final |indirect )*(?:struct|enum|class|actor|protocol) +([A-Z]\w*)/) {
                declaredIn[String(match.1)] = folder
            }
        }
        #expect(declaredIn.count > 50, "the scan finds the module's types (\(declaredIn.count))")
        var arrows: [String] = []
        for source in sources {
            guard let own = rank[source.folder] else { continue }
            let words = Set(source.code.matches(of: /[A-Z]\w*/).map { String($0.0) })
            for word in words {
                guard let folder = declaredIn[word], let theirs = rank[folder], theirs > own else { continue }
                arrows.append("\(source.path) uses \(word) of \(folder)/")
            }
        }
        #expect(arrows.isEmpty, "arrows that point up the list in docs/architecture.md:\n\(arrows.sorted().joined(separator: "\n"))")
    }
}
