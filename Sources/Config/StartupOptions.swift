// The startup packet's `options` read as PostgreSQL reads them: words split as pg_split_opts does, then getopt's -c/--.

public enum StartupOptions {
    public struct Refusal: Error, Equatable, Sendable {
        /// 42601 where PostgreSQL refuses the text itself, 0A000 for a switch PostgreSQL takes but pgswift cannot pool.
        public var sqlState: String
        public var message: String
    }

    /// PostgreSQL's backend switches that take an argument, and those that do not (its getopt string).
    static let switchesWithArgument: Set<Character> = ["B", "c", "C", "D", "d", "f", "h", "k", "N", "p", "r", "S", "t", "v", "W", "-"]
    static let switchesAlone: Set<Character> = ["b", "E", "e", "F", "i", "j", "l", "n", "O", "P", "s", "T"]

    /// The settings `text` asks for, in order (a later one for the same name wins, as in PostgreSQL).
    public static func parse(_ text: String) -> Result<[(name: String, value: String)], Refusal> {
        var settings: [(name: String, value: String)] = []
        var leftover: [String] = []
        var words = split(text)[...]
        var optionsEnded = false
        while let word = words.popFirst() {
            // As getopt: "--" alone ends the switches, "-" alone and words without a dash are arguments, which a
            // backend never takes (they are looked at once the switches are done, wherever they stood).
            if optionsEnded || word == "-" || !word.hasPrefix("-") {
                leftover.append(word)
                continue
            }
            if word == "--" {
                optionsEnded = true
                continue
            }
            var letters = word.dropFirst()
            while let letter = letters.popFirst() {
                guard switchesWithArgument.contains(letter) else {
                    if switchesAlone.contains(letter) { return .failure(unsupported(word)) }
                    return .failure(invalidArgument(word))
                }
                let argument: String
                if !letters.isEmpty {
                    argument = String(letters)
                    letters = ""
                } else if let next = words.popFirst() {
                    argument = next
                } else {
                    return .failure(invalidArgument(word))
                }
                guard letter == "c" || letter == "-" else { return .failure(unsupported(word)) }
                guard let eq = argument.firstIndex(of: "=") else {
                    let shown = letter == "c" ? "-c \(argument)" : "--\(argument)"
                    return .failure(Refusal(sqlState: "42601", message: "\(shown) requires a value"))
                }
                // PostgreSQL lets a setting's name be written with dashes, as on its command line.
                let name = String(argument[..<eq].map { $0 == "-" ? "_" : $0 })
                settings.append((name, String(argument[argument.index(after: eq)...])))
            }
        }
        if let first = leftover.first { return .failure(invalidArgument(first)) }
        return .success(settings)
    }

    /// pg_split_opts: words end at unescaped white space; a backslash makes the next character (space or backslash
    /// included) part of the word and is itself dropped, even at the very end.
    static func split(_ text: String) -> [String] {
        var words: [String] = []
        var word = String.UnicodeScalarView()
        var inWord = false
        var escaped = false
        // Scalar by scalar, as PostgreSQL goes byte by byte: "\r\n" is two spaces to it, not one character.
        for ch in text.unicodeScalars {
            if escaped {
                word.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
                inWord = true
            } else if isSpace(ch) {
                if inWord { words.append(String(word)) }
                word = String.UnicodeScalarView()
                inWord = false
            } else {
                word.append(ch)
                inWord = true
            }
        }
        if inWord { words.append(String(word)) }
        return words
    }

    /// C's isspace in PostgreSQL's C locale.
    static func isSpace(_ ch: Unicode.Scalar) -> Bool {
        ch == " " || ch == "\t" || ch == "\n" || ch == "\r" || ch == "\u{0B}" || ch == "\u{0C}"
    }

    static func invalidArgument(_ word: String) -> Refusal {
        Refusal(sqlState: "42601", message: "invalid command-line argument for server process: \(word)")
    }

    static func unsupported(_ word: String) -> Refusal {
        Refusal(sqlState: "0A000", message: "unsupported startup option \"\(word)\" (only -c name=value and --name=value)")
    }
}
