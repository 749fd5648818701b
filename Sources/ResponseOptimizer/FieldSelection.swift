// The `fields=` expression of partial responses: `id,name,owner(name,email),items(*)`, parsed with exact error positions.

/// Which members of a JSON object to keep: named ones (each with its own selection for nested objects and arrays
/// of objects), or all of them (`*`).
public struct FieldSelection: Sendable, Equatable {
    public var all = false
    public var fields: [(name: String, sub: FieldSelection?)] = []

    public init(all: Bool = false, fields: [(name: String, sub: FieldSelection?)] = []) {
        self.all = all
        self.fields = fields
    }

    public static func == (a: FieldSelection, b: FieldSelection) -> Bool {
        a.all == b.all && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.sub == $1.sub }
    }

    func sub(for name: String) -> (keep: Bool, sub: FieldSelection?) {
        if let f = fields.first(where: { $0.name == name }) { return (true, f.sub) }
        return (all, nil)
    }

    /// The same for a member name given as its UTF-8 bytes (no escapes in it), compared without making a String.
    func sub(forUTF8 name: ArraySlice<UInt8>) -> (keep: Bool, sub: FieldSelection?) {
        for f in fields where f.name.utf8.count == name.count && f.name.utf8.elementsEqual(name) { return (true, f.sub) }
        return (all, nil)
    }
}

/// A malformed `fields` expression; `position` is the 1-based character where it goes wrong.
public struct FieldSelectionError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public let position: Int
    public let expression: String

    public var description: String {
        "invalid fields expression at character \(position): \(message)\n  \(expression)\n  \(String(repeating: " ", count: max(position - 1, 0)))^"
    }
}

extension FieldSelection {
    /// Parses `id,name,owner(name,email),items(*)`. Names are letters, digits, `_`, `-`, `.`, `$` and `@`; spaces
    /// around names are allowed.
    public static func parse(_ expression: String) throws(FieldSelectionError) -> FieldSelection {
        var parser = Parser(text: Array(expression.unicodeScalars), expression: expression)
        let selection = try parser.list(depth: 0)
        parser.skipSpaces()
        if parser.i < parser.text.count {
            throw parser.error(parser.text[parser.i] == ")" ? "unmatched ')'" : "expected ',' or end of expression")
        }
        return selection
    }

    private struct Parser {
        let text: [Unicode.Scalar]
        let expression: String
        var i = 0

        func error(_ message: String) -> FieldSelectionError {
            FieldSelectionError(message: message, position: i + 1, expression: expression)
        }

        mutating func skipSpaces() {
            while i < text.count, text[i] == " " { i += 1 }
        }

        mutating func list(depth: Int) throws(FieldSelectionError) -> FieldSelection {
            guard depth < 32 else { throw error("nested too deeply") }
            var selection = FieldSelection()
            while true {
                skipSpaces()
                if i < text.count, text[i] == "*" {
                    i += 1
                    selection.all = true
                } else {
                    let start = i
                    while i < text.count, Self.isNameScalar(text[i]) { i += 1 }
                    guard i > start else {
                        throw error(i < text.count ? "unexpected '\(text[i])', expected a field name" : "expected a field name")
                    }
                    let name = String(String.UnicodeScalarView(text[start..<i]))
                    skipSpaces()
                    var sub: FieldSelection?
                    if i < text.count, text[i] == "(" {
                        i += 1
                        sub = try list(depth: depth + 1)
                        skipSpaces()
                        guard i < text.count, text[i] == ")" else { throw error("expected ')' to close '\(name)('") }
                        i += 1
                    }
                    selection.fields.append((name, sub))
                }
                skipSpaces()
                guard i < text.count, text[i] == "," else { return selection }
                i += 1
            }
        }

        static func isNameScalar(_ c: Unicode.Scalar) -> Bool {
            switch c {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".", "$", "@": true
            default: false
            }
        }
    }
}
