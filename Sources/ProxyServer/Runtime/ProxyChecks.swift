// Checks `--check` runs beyond the file itself: the files it names can be read and used.
import Config

public enum ProxyChecks {
    /// Loads the file and everything it names, as a start or reload would; returns the warnings.
    public static func check(path: String, environment: [String: String]) throws(ConfigErrors) -> [String] {
        try LoadedConfig.load(path: path, environment: environment).warnings
    }
}
