// Helpers shared by the Config tests: throw-away directories for config files and error extraction.
import Foundation
import Testing

@testable import Config

/// A fresh directory under the system temporary directory, removed when the value goes away.
final class TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pgswift-config-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to `name` (which may contain subdirectories) and returns the file's full path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        let dir = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// Loads a config that must be valid; records an issue with every problem otherwise.
func loadValid(_ path: String, environment: [String: String] = [:],
               sourceLocation: SourceLocation = #_sourceLocation) throws -> ProxyConfig {
    do throws(ConfigErrors) {
        return try ConfigLoader.load(path: path, environment: environment)
    } catch {
        Issue.record("unexpected config errors:\n\(error.description)", sourceLocation: sourceLocation)
        throw error
    }
}

/// Loads a config that must be rejected and returns every problem, in file/line order.
func loadErrors(_ path: String, environment: [String: String] = [:],
                sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigError] {
    do throws(ConfigErrors) {
        _ = try ConfigLoader.load(path: path, environment: environment)
        Issue.record("expected \(path) to be rejected", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
    }
}

/// Compares setting values, allowing for floating-point rounding in durations.
func sameValue(_ a: SettingValue?, _ b: SettingValue) -> Bool {
    if case .seconds(let x)? = a, case .seconds(let y) = b { return abs(x - y) < 1e-9 }
    return a == b
}
