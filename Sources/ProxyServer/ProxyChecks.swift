// Checks `--check` runs beyond the file itself: the files it names can be read and used.
import Config

public enum ProxyChecks {
    public static func check(_ config: ProxyConfig, environment: [String: String]) throws(ConfigErrors) {
        _ = try LoadedConfig.load(path: config.path, environment: environment)
    }
}
