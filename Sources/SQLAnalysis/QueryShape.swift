// A statement's text without its literal values and comments: statements that differ only in the values they carry
// share one shape, so what the parser said of one serves them all (pgbench -S sends a new literal every time).

/// One pass over the bytes, no parser. Unquoted text is folded to lower case (PostgreSQL folds it too), each run of
/// white space becomes one space, comments go, and every literal (string, dollar-quoted, numeric) becomes one byte
/// that cannot occur in SQL outside a literal, so a shape never equals the text of another statement. Quoted
/// identifiers and parameters ($1) stay as written. `/* pgswift: ... */` comments are hints: they are returned apart
/// and are not part of the shape.
public struct QueryShape: Hashable, Sendable {
    /// The shape's bytes.
    public let key: [UInt8]
    /// The text after "pgswift:" of each hint comment, in order.
    public let hints: [String]
    /// False when the scan cannot be sure where the literals end (a backslash in an ordinary string, which means
    /// something else under standard_conforming_strings = off; a quote or comment left open): such a text is never
    /// taken for another, so it must not be known by its shape.
    public let exact: Bool

    /// What stands for a literal in `key`: a control byte PostgreSQL's lexer refuses outside literals.
    public static let literal: UInt8 = 0x01

    public static func == (a: QueryShape, b: QueryShape) -> Bool { a.key == b.key }
    /// The bytes in one call: an array's own hashing feeds them one at a time.
    public func hash(into hasher: inout Hasher) { key.withUnsafeBytes { hasher.combine(bytes: $0) } }

    public init(_ sql: String) {
        var s = sql
        self = s.withUTF8 { QueryShape(UnsafeRawBufferPointer($0)) }
    }

    public init(_ sql: UnsafeRawBufferPointer) {
        var out: [UInt8] = []
        out.reserveCapacity(sql.count)
        var hints: [String] = []
        var exact = true
        var i = 0
        let n = sql.count
        // A space is written only before the next token, so leading and trailing white space leave nothing.
        var spacePending = false
        func emit(_ b: UInt8) {
            if spacePending {
                if !out.isEmpty { out.append(0x20) }
                spacePending = false
            }
            out.append(b)
        }
        while i < n {
            let b = sql[i]
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C:
                spacePending = true
                i += 1
            case UInt8(ascii: "-") where i + 1 < n && sql[i + 1] == UInt8(ascii: "-"):
                while i < n && sql[i] != 0x0A { i += 1 }
                spacePending = true
            case UInt8(ascii: "/") where i + 1 < n && sql[i + 1] == UInt8(ascii: "*"):
                let (end, closed) = SQLWords.skipBlockComment(sql, from: i)
                if !closed { exact = false }
                if let hint = Self.hint(sql, from: i + 2, to: closed ? end - 2 : end) { hints.append(hint) }
                i = end
                spacePending = true
            case UInt8(ascii: "'"):
                // E'...' takes backslash escapes; in any other string a backslash is a character, unless
                // standard_conforming_strings is off, which this scan cannot know.
                let escapes = Self.prefixed(out, by: [UInt8(ascii: "e")], spacePending: spacePending)
                // U&'...' writes Unicode escapes with backslashes (and exists only with standard_conforming_strings).
                let unicode = Self.prefixed(out, by: [UInt8(ascii: "u"), UInt8(ascii: "&")], spacePending: spacePending)
                let (end, closed, sawBackslash) = Self.skipString(sql, from: i, escapes: escapes)
                if !closed || (sawBackslash && !escapes && !unicode) { exact = false }
                emit(Self.literal)
                i = end
            case UInt8(ascii: "\""):
                let (end, closed) = SQLWords.skipQuoted(sql, from: i, quote: b)
                if !closed { exact = false }
                for k in i..<end { emit(sql[k]) }
                i = end
            case UInt8(ascii: "$"):
                if let (end, closed) = SQLWords.skipDollarQuoted(sql, from: i) {
                    if !closed { exact = false }
                    emit(Self.literal)
                    i = end
                } else {
                    // A parameter ($1) or a bare $: kept.
                    emit(b)
                    i += 1
                    while i < n && sql[i] >= 0x30 && sql[i] <= 0x39 {
                        emit(sql[i])
                        i += 1
                    }
                }
            case 0x30...0x39:
                // Digits inside a word were taken with the word: these start a number.
                i = Self.skipNumber(sql, from: i)
                emit(Self.literal)
            case UInt8(ascii: ".") where Self.startsFraction(sql, i, after: out.last):
                i = Self.skipNumber(sql, from: i)
                emit(Self.literal)
            default:
                if SQLWords.isWordByte(b) {
                    // A whole word at once, so digits inside it (t1, col2) are never taken for numbers.
                    while i < n && SQLWords.isWordByte(sql[i]) {
                        emit(SQLWords.lower(sql[i]))
                        i += 1
                    }
                } else {
                    emit(b)
                    i += 1
                }
            }
        }
        self.key = out
        self.hints = hints
        self.exact = exact
    }

    /// The shape as text, with the literal byte shown as "?" (for logs and tests).
    public var text: String {
        String(decoding: key.map { $0 == Self.literal ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }

    /// The shape so far ends with `prefix` as a word of its own, right before the quote (E'...', U&'...').
    private static func prefixed(_ out: [UInt8], by prefix: [UInt8], spacePending: Bool) -> Bool {
        guard !spacePending, out.count >= prefix.count else { return false }
        let start = out.count - prefix.count
        for (k, b) in prefix.enumerated() where out[start + k] != b { return false }
        return start == 0 || !SQLWords.isWordByte(out[start - 1])
    }

    /// ".5": a "." before a digit, unless it selects a field or a column (after a word, ")" or a quoted name).
    private static func startsFraction(_ sql: UnsafeRawBufferPointer, _ i: Int, after previous: UInt8?) -> Bool {
        guard i + 1 < sql.count, sql[i + 1] >= 0x30 && sql[i + 1] <= 0x39 else { return false }
        guard let previous else { return true }
        return !(SQLWords.isWordByte(previous) || previous == UInt8(ascii: ")") || previous == UInt8(ascii: "\""))
    }

    /// Digits, a fraction, an exponent, PostgreSQL 16's 0x/0o/0b prefixes and _ separators: everything up to the next
    /// byte that cannot continue a number.
    private static func skipNumber(_ sql: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        while i < sql.count {
            let b = sql[i]
            if SQLWords.isWordByte(b) || b == UInt8(ascii: ".") {
                i += 1
            } else if (b == UInt8(ascii: "+") || b == UInt8(ascii: "-")), i > start, sql[i - 1] | 0x20 == UInt8(ascii: "e"),
                      i + 1 < sql.count, sql[i + 1] >= 0x30 && sql[i + 1] <= 0x39 {
                i += 1
            } else {
                break
            }
        }
        return i
    }

    /// A single-quoted string from `start` (its opening quote): where it ends, whether it was closed, and whether it
    /// held a backslash. Adjacent quotes are one quote; with `escapes`, a backslash escapes the next byte.
    private static func skipString(_ sql: UnsafeRawBufferPointer, from start: Int, escapes: Bool) -> (end: Int, closed: Bool, backslash: Bool) {
        var i = start + 1
        var backslash = false
        while i < sql.count {
            let b = sql[i]
            if b == UInt8(ascii: "\\") {
                backslash = true
                i += escapes ? 2 : 1
                continue
            }
            if b == UInt8(ascii: "'") {
                if i + 1 < sql.count && sql[i + 1] == UInt8(ascii: "'") {
                    i += 2
                    continue
                }
                return (i + 1, true, backslash)
            }
            i += 1
        }
        return (sql.count, false, backslash)
    }

    /// The text of a block comment that starts with "pgswift:" (after white space), trimmed; nil for any other.
    private static func hint(_ sql: UnsafeRawBufferPointer, from start: Int, to end: Int) -> String? {
        var i = start
        while i < end && (sql[i] == 0x20 || sql[i] == 0x09 || sql[i] == 0x0A || sql[i] == 0x0D) { i += 1 }
        let marker = Array("pgswift:".utf8)
        guard end - i >= marker.count else { return nil }
        for (k, m) in marker.enumerated() where SQLWords.lower(sql[i + k]) != m { return nil }
        var from = i + marker.count, to = end
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        while from < to && space(sql[from]) { from += 1 }
        while to > from && space(sql[to - 1]) { to -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: sql[from..<to]), as: UTF8.self)
    }
}
