/// A command-line mistake in an offset or time argument (exit code 2).
public struct OffsetArgumentError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
