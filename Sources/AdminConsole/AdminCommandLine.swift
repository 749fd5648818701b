// Parses one admin console command line with PgBouncer's grammar: a word, an optional argument, or SET key = value.

/// A parsed admin command: `verb` upper-cased; `argument` as written (quoted identifiers unquoted).
struct AdminCommandLine: Equatable, Sendable {
    var verb: String
    var argument: String?
    /// For SET: the key and the value.
    var setting: (key: String, value: String)? {
        guard verb == "SET", let argument, let eq = argument.firstIndex(of: "=") else { return nil }
        return (String(argument[..<eq]), String(argument[argument.index(after: eq)...]))
    }

    static func == (a: AdminCommandLine, b: AdminCommandLine) -> Bool { a.verb == b.verb && a.argument == b.argument }

    enum Parsed: Equatable {
        case command(AdminCommandLine)
        /// Not the console's grammar: "invalid command".
        case invalid
        /// A word longer than PgBouncer allows (15 bytes for the command, 63 for the argument).
        case badArguments
    }

    static func parse(_ text: String) -> Parsed {
        guard let line = parseLine(text) else { return .invalid }
        // DRAIN/UNDRAIN NODE carry a database and a host name, which may be long (cloud host names).
        let argumentLimit = line.verb.hasSuffix(" NODE") || line.verb == "CACHE INVALIDATE" ? 320 : 63
        // CACHE INVALIDATE is two words of pgswift's own grammar, not one typed word.
        let verbFits = line.verb.utf8.count <= 15 || line.verb == "CACHE INVALIDATE"
        guard line.verb == "SET" || (verbFits && (line.argument?.utf8.count ?? 0) <= argumentLimit) else { return .badArguments }
        return .command(line)
    }

    private static func parseLine(_ text: String) -> AdminCommandLine? {
        var scanner = Scanner(Array(text.utf8))
        scanner.skipSpace()
        guard let verb = scanner.word() else { return nil }
        let upper = verb.uppercased()
        if upper == "SET" {
            guard scanner.skipSpace(), let key = scanner.word() else { return nil }
            scanner.skipSpace()
            if !scanner.take("=") {
                guard scanner.takeWord("to"), scanner.skipSpace() else { return nil }
            }
            scanner.skipSpace()
            guard let value = scanner.quotedString() ?? scanner.word() else { return nil }
            guard scanner.atEnd() else { return nil }
            return AdminCommandLine(verb: "SET", argument: "\(key.lowercased())=\(value)")
        }
        if upper == "DRAIN" || upper == "UNDRAIN" {
            // pgswift's own: DRAIN NODE db host:port, the node as SHOW NODES names it.
            guard scanner.skipSpace(), scanner.takeWord("node"), scanner.skipSpace(), let db = scanner.word(), scanner.skipSpace(),
                  let node = scanner.token(), scanner.atEnd() else { return nil }
            return AdminCommandLine(verb: "\(upper) NODE", argument: "\(db) \(node)")
        }
        if upper == "CACHE" {
            // pgswift's own: CACHE CLEAR, CACHE INVALIDATE TABLE|TAG|FINGERPRINT|PATTERN value.
            guard scanner.skipSpace(), let sub = scanner.word()?.uppercased() else { return nil }
            if sub == "CLEAR" {
                scanner.skipSpace()
                return scanner.atEnd() ? AdminCommandLine(verb: "CACHE CLEAR", argument: nil) : nil
            }
            guard sub == "INVALIDATE" else { return nil }
            guard scanner.skipSpace(), let kind = scanner.word(), scanner.skipSpace(),
                  let value = scanner.quotedString() ?? scanner.token() else { return AdminCommandLine(verb: "CACHE INVALIDATE", argument: nil) }
            scanner.skipSpace()
            guard scanner.atEnd() else { return nil }
            return AdminCommandLine(verb: "CACHE INVALIDATE", argument: "\(kind.uppercased()) \(value)")
        }
        var argument: String?
        if scanner.skipSpace(), let arg = scanner.word() { argument = arg }
        guard scanner.atEnd() else { return nil }
        return AdminCommandLine(verb: upper == "SELECT" ? "SHOW" : upper, argument: argument)
    }
}

private struct Scanner {
    let bytes: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Skips whitespace; true if there was some.
    @discardableResult
    mutating func skipSpace() -> Bool {
        let start = i
        while i < bytes.count, bytes[i] == 0x20 || (bytes[i] >= 0x09 && bytes[i] <= 0x0D) { i += 1 }
        return i > start
    }

    mutating func take(_ c: Character) -> Bool {
        guard i < bytes.count, bytes[i] == c.asciiValue! else { return false }
        i += 1
        return true
    }

    mutating func takeWord(_ w: String) -> Bool {
        let save = i
        if let got = word(), got.lowercased() == w { return true }
        i = save
        return false
    }

    /// `[0-9a-z_]+` (any case), or a double-quoted identifier with "" for a quote.
    mutating func word() -> String? {
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") { return quoted(UInt8(ascii: "\"")) }
        let start = i
        while i < bytes.count, isWordByte(bytes[i]) { i += 1 }
        return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
    }

    /// Everything up to white space or a semicolon (a host:port).
    mutating func token() -> String? {
        let start = i
        while i < bytes.count, !(bytes[i] == 0x20 || (bytes[i] >= 0x09 && bytes[i] <= 0x0D) || bytes[i] == UInt8(ascii: ";")) { i += 1 }
        return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
    }

    mutating func quotedString() -> String? {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "'") else { return nil }
        return quoted(UInt8(ascii: "'"))
    }

    private mutating func quoted(_ q: UInt8) -> String? {
        var out: [UInt8] = []
        var j = i + 1
        while j < bytes.count {
            if bytes[j] == q {
                if j + 1 < bytes.count, bytes[j + 1] == q {
                    out.append(q)
                    j += 2
                    continue
                }
                i = j + 1
                return String(decoding: out, as: UTF8.self)
            }
            out.append(bytes[j])
            j += 1
        }
        return nil
    }

    /// Only whitespace and at most one semicolon remain.
    mutating func atEnd() -> Bool {
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: ";") { i += 1 }
        skipSpace()
        return i == bytes.count
    }

    private func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }
}
