/// The relay's version, as `--version` and the startup log print it.
public enum RelayVersion {
    public static let current = "0.1.0"
}
