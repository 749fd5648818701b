// Reads an auth_file in PgBouncer's userlist.txt format: "user" "secret" per line.
import Foundation

/// What an auth_file line holds for one user.
public enum StoredSecret: Sendable, Equatable {
    case plain(String)
    case md5(String)
    /// The full SCRAM-SHA-256$... text; parsed by PGWire when used.
    case scram(String)

    public init(_ text: String) {
        if text.hasPrefix("SCRAM-SHA-256$") {
            self = .scram(text)
        } else if text.utf8.count == 35 && text.hasPrefix("md5")
            && text.utf8.dropFirst(3).allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        {
            // As PostgreSQL tells them apart: "md5" and 32 lowercase hex digits; anything else is a password.
            self = .md5(text)
        } else {
            self = .plain(text)
        }
    }
}

public enum Userlist {
    public static func load(path: String) throws(ConfigErrors) -> [String: StoredSecret] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([ConfigError(file: path, line: 0, key: nil, message: "cannot read auth_file")])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> [String: StoredSecret] {
        var result: [String: StoredSecret] = [:]
        var errors: [ConfigError] = []
        var lineNumber = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = raw.trimmingWhitespace
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            var fields: [String] = []
            var chars = Substring(line)
            while let q = chars.firstIndex(of: "\"") {
                var value = ""
                var i = chars.index(after: q)
                var closed = false
                while i < chars.endIndex {
                    if chars[i] == "\"" {
                        let next = chars.index(after: i)
                        if next < chars.endIndex && chars[next] == "\"" {
                            value.append("\"")
                            i = chars.index(after: next)
                            continue
                        }
                        closed = true
                        i = next
                        break
                    }
                    value.append(chars[i])
                    i = chars.index(after: i)
                }
                if !closed { break }
                fields.append(value)
                chars = chars[i...]
            }
            guard fields.count >= 2 else {
                errors.append(ConfigError(file: file, line: lineNumber, key: nil, message: "expected \"user\" \"secret\""))
                continue
            }
            result[fields[0]] = StoredSecret(fields[1])
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return result
    }
}
