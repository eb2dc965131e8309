import Foundation

/// Configuration files written for one test, in a directory of their own that goes with the test:
/// the files hold (test) secrets and used to pile up in /tmp.
final class ConfigFiles {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-config-tests-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes `text` to a new file and returns its path.
    ///
    /// - Parameter permissions: The file's mode; 0o600 keeps the loader's warning about secrets
    ///   in a file others can read out of a test that is not about it.
    func write(_ text: String, permissions: Int? = nil) throws -> String {
        let path = directory.appendingPathComponent("relay-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if let permissions { try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path) }
        return path
    }
}
