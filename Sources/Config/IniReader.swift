// Reads pgbouncer.ini syntax into located (section, key, value) entries, following %include.
import Foundation

public struct IniEntry: Sendable, Equatable {
    public var section: String
    public var key: String
    public var value: String
    public var file: String
    public var line: Int
    /// The key as written, quotes kept ([cache_rules] reads quoted identifiers from it).
    public var rawKey = ""
}

public enum IniReader {
    /// Reads `path` and everything it includes; problems are collected, not thrown one by one.
    public static func read(path: String, errors: inout [ConfigError]) -> [IniEntry] {
        var entries: [IniEntry] = []
        var section = ""
        var open: [String] = []
        read(path: path, section: &section, entries: &entries, errors: &errors, open: &open, includedFrom: nil)
        return entries
    }

    /// `open` holds the canonical paths of the files being read, outermost first, to catch include loops.
    private static func read(path: String, section: inout String, entries: inout [IniEntry], errors: inout [ConfigError], open: inout [String], includedFrom: (String, Int)?) {
        let canonical = (path as NSString).resolvingSymlinksInPath
        if let (file, line) = includedFrom, open.contains(canonical) {
            errors.append(ConfigError(file: file, line: line, key: nil, message: "%include loop: \(path) is already being read"))
            return
        }
        open.append(canonical)
        defer { open.removeLast() }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            if let (file, line) = includedFrom {
                errors.append(ConfigError(file: file, line: line, key: nil, message: "cannot read included file \(path)"))
            } else {
                errors.append(ConfigError(file: path, line: 0, key: nil, message: "cannot read file"))
            }
            return
        }
        var lineNumber = 0
        // "\r\n" is a single Character in Swift, so it has to be named as a separator of its own.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("%include") {
                let target = line.dropFirst("%include".count).trimmingCharacters(in: .whitespaces)
                if target.isEmpty {
                    errors.append(ConfigError(file: path, line: lineNumber, key: nil, message: "%include needs a file name"))
                    continue
                }
                // A relative path is taken from the working directory, as PgBouncer does.
                read(path: target, section: &section, entries: &entries, errors: &errors, open: &open, includedFrom: (path, lineNumber))
                continue
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    errors.append(ConfigError(file: path, line: lineNumber, key: nil, message: "unterminated section header"))
                    continue
                }
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces).lowercased()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                errors.append(ConfigError(file: path, line: lineNumber, key: nil, message: "expected key = value"))
                continue
            }
            var key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let rawKey = key
            if key.count >= 2, key.hasPrefix("\""), key.hasSuffix("\"") {
                // A quoted name ("my-db" in [databases]), with "" standing for a literal double quote.
                key = String(key.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            if key.isEmpty {
                errors.append(ConfigError(file: path, line: lineNumber, key: nil, message: "empty key"))
                continue
            }
            if section.isEmpty {
                errors.append(ConfigError(file: path, line: lineNumber, key: key, message: "key outside any section"))
                continue
            }
            entries.append(IniEntry(section: section, key: key, value: value, file: path, line: lineNumber, rawKey: rawKey))
        }
    }
}
