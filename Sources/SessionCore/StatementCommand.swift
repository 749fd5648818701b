// Recognises the simple-query commands that drop prepared statements (DEALLOCATE, DISCARD ALL) without a full parser.
import NIOCore

public enum StatementCommand: Equatable, Sendable {
    case deallocate(String)
    case deallocateAll
    case discardAll
    case other

    /// `body` starts with NUL-terminated SQL (a Query body, or a Parse body after its name). Only a single
    /// statement counts; anything else is `.other`.
    public static func classify(_ body: ByteBuffer) -> StatementCommand {
        // Cheap exit for the usual query: it does not start with D.
        var i = body.readerIndex
        let end = body.writerIndex
        while i < end, let c = body.getInteger(at: i, as: UInt8.self), c == 0x20 || (c >= 0x09 && c <= 0x0D) { i += 1 }
        guard i < end, let c = body.getInteger(at: i, as: UInt8.self), c | 0x20 == UInt8(ascii: "d") else { return .other }
        var stop = i
        while stop < end, body.getInteger(at: stop, as: UInt8.self) != 0 { stop += 1 }
        guard let text = body.getString(at: i, length: stop - i) else { return .other }
        var words = Tokens(text)
        switch words.next()?.lowercased() {
        case "deallocate":
            var target = words.next()
            if target?.lowercased() == "prepare" { target = words.next() }
            guard let name = target, words.atEnd else { return .other }
            return name.lowercased() == "all" ? .deallocateAll : .deallocate(Tokens.identifier(name))
        case "discard":
            guard words.next()?.lowercased() == "all", words.atEnd else { return .other }
            return .discardAll
        default:
            return .other
        }
    }
}

/// Words of a one-line command: identifiers (quoted ones whole, with "" inside), then an optional `;`.
private struct Tokens {
    private var rest: Substring

    init(_ text: String) {
        rest = Substring(text)
    }

    /// True when only whitespace and one optional semicolon remain.
    var atEnd: Bool {
        var r = rest.drop { $0.isWhitespace }
        if r.first == ";" { r = r.dropFirst().drop { $0.isWhitespace } }
        return r.isEmpty
    }

    mutating func next() -> String? {
        rest = rest.drop { $0.isWhitespace }
        guard let first = rest.first, first != ";" else { return nil }
        if first == "\"" {
            var i = rest.index(after: rest.startIndex)
            while i < rest.endIndex {
                if rest[i] == "\"" {
                    let after = rest.index(after: i)
                    if after < rest.endIndex && rest[after] == "\"" {
                        i = rest.index(after: after)
                        continue
                    }
                    let word = String(rest[rest.startIndex..<after])
                    rest = rest[after...]
                    return word
                }
                i = rest.index(after: i)
            }
            return nil
        }
        let word = rest.prefix { !$0.isWhitespace && $0 != ";" }
        rest = rest.dropFirst(word.count)
        return String(word)
    }

    /// An identifier as PostgreSQL resolves it: quoted ones as written, others folded to lower case.
    static func identifier(_ word: String) -> String {
        guard word.hasPrefix("\""), word.hasSuffix("\""), word.count >= 2 else { return word.lowercased() }
        var out = ""
        var previousQuote = false
        for ch in word.dropFirst().dropLast() {
            if ch == "\"" && previousQuote {
                previousQuote = false
                continue
            }
            previousQuote = ch == "\""
            out.append(ch)
        }
        return out
    }
}
