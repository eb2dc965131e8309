import Foundation

/// Where the end-to-end tests write their config files, logs and certificates: one directory per
/// test process, removed when the process exits, so runs do not pile files up in /tmp (some of
/// them hold test secrets). Set CURRENTS_RELAY_KEEP_TEST_FILES=1 to keep it for a post-mortem;
/// its path is printed then.
enum ScratchDirectory {
    static let url: URL = {
        let base = FileManager.default.temporaryDirectory
        removeLeftovers(in: base)
        let url = base.appendingPathComponent("\(prefix)\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["CURRENTS_RELAY_KEEP_TEST_FILES"] == "1" {
            print("end-to-end test files are kept in \(url.path)")
        } else {
            atexit { try? FileManager.default.removeItem(at: ScratchDirectory.url) }
        }
        return url
    }()

    static let prefix = "currents-relay-e2e-"

    /// A new path in the directory: `name` with a unique part, e.g. `path("cli", "yaml")`.
    static func path(_ name: String, _ pathExtension: String) -> String {
        url.appendingPathComponent("\(name)-\(UUID().uuidString).\(pathExtension)").path
    }

    /// A new subdirectory, created.
    static func directory(_ name: String) throws -> URL {
        let directory = url.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Directories of earlier test processes that no longer run (killed before their exit hook).
    private static func removeLeftovers(in base: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: base.appendingPathComponent(name))
        }
    }
}
