// The startup packet's `options` read as PostgreSQL reads them: words split as pg_split_opts does, then getopt's -c/--.

public enum StartupOptions {
    /// PostgreSQL's backend switches that take an argument, and those that do not (its getopt string).
    static let switchesWithArgument: Set<Character> = ["B", "c", "C", "D", "d", "f", "h", "k", "N", "p", "r", "S", "t", "v", "W", "-"]
    static let switchesAlone: Set<Character> = ["b", "E", "e", "F", "i", "j", "l", "n", "O", "P", "s", "T"]

    /// The settings `text` asks for, in order (a later one for the same name wins, as in PostgreSQL). Throws the
    /// FATAL PostgreSQL sends for a text it refuses (42601), or 0A000 for a switch it takes that a pool cannot carry.
    public static func parse(_ text: String) throws(PGError) -> [(name: String, value: String)] {
        // The backend's argv starts with its own name, which a complaint can end up naming (see below).
        let argv = ["postgres"] + split(text)
        var settings: [(name: String, value: String)] = []
        var leftover: [String] = []
        var next = 1
        var optionsEnded = false
        while next < argv.count {
            let word = argv[next]
            next += 1
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
                    if switchesAlone.contains(letter) { throw unsupported(word) }
                    // PostgreSQL names the word before getopt's position, which moves past a word only once all its
                    // letters are read: a bad last letter names its own word, one inside it the word before.
                    throw invalidArgument(letters.isEmpty ? word : argv[next - 2])
                }
                let argument: String
                if !letters.isEmpty {
                    argument = String(letters)
                    letters = ""
                } else if next < argv.count {
                    argument = argv[next]
                    next += 1
                } else {
                    throw invalidArgument(word)
                }
                guard letter == "c" || letter == "-" else { throw unsupported(word) }
                guard let eq = argument.firstIndex(of: "=") else {
                    let shown = letter == "c" ? "-c \(argument)" : "--\(argument)"
                    throw PGError(SQLState.syntaxError, "\(shown) requires a value", severity: Severity.fatal)
                }
                // PostgreSQL lets a setting's name be written with dashes, as on its command line.
                let name = String(argument[..<eq].map { $0 == "-" ? "_" : $0 })
                settings.append((name, String(argument[argument.index(after: eq)...])))
            }
        }
        if let first = leftover.first { throw invalidArgument(first) }
        return settings
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

    static func invalidArgument(_ word: String) -> PGError {
        PGError(SQLState.syntaxError, "invalid command-line argument for server process: \(word)", severity: Severity.fatal,
                hint: "Try \"postgres --help\" for more information.")
    }

    static func unsupported(_ word: String) -> PGError {
        .featureNotSupported("unsupported startup option \"\(word)\" (only -c name=value and --name=value)")
    }
}
