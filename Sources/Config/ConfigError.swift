// A configuration problem located at a file, line and key, as `pgswift --check` prints it.

public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 0 when the problem is not on a line (an unreadable file, an environment variable).
    public var line: Int
    public var key: String?
    public var message: String

    public init(file: String, line: Int, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        if let key { return "\(place): \(key): \(message)" }
        return "\(place): \(message)"
    }
}

/// Every problem found in one load; a config with any of them is not used.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Where a setting's value came from, for SHOW CONFIG and for error messages.
public enum ValueSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case file(String, line: Int)
    case environment(String)
    case runtime

    public var description: String {
        switch self {
        case .defaultValue: "default"
        case .file(let f, let line): "\(f):\(line)"
        case .environment(let name): "env \(name)"
        case .runtime: "SET"
        }
    }

    /// SHOW CONFIG's source column: `file:line`, `environment`, `SET` or `default`. The variable's name is left out:
    /// it is PGSWIFT_ and the key in capitals, and stats_users, who may read SHOW CONFIG, need not learn more.
    public var origin: String {
        switch self {
        case .environment: "environment"
        default: description
        }
    }
}
