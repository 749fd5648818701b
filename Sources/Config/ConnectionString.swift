// Parses libpq-style "key=value key='quoted value'" strings, as [databases] entries are written.

public enum ConnectionString {
    /// Returns the pairs in order, or a message saying what is wrong.
    public static func parse(_ text: String) -> Result<[(String, String)], ConfigMessage> {
        var pairs: [(String, String)] = []
        let chars = Array(text)
        var i = 0
        func skipSpace() { while i < chars.count, chars[i].isWhitespace { i += 1 } }
        while true {
            skipSpace()
            if i >= chars.count { break }
            var key = ""
            while i < chars.count, chars[i] != "=", !chars[i].isWhitespace { key.append(chars[i]); i += 1 }
            skipSpace()
            guard i < chars.count, chars[i] == "=" else { return .failure(ConfigMessage("expected '=' after \(key)")) }
            i += 1
            skipSpace()
            var value = ""
            if i < chars.count, chars[i] == "'" {
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count {
                        value.append(chars[i + 1]); i += 2; continue
                    }
                    if chars[i] == "'" {
                        if i + 1 < chars.count, chars[i + 1] == "'" { value.append("'"); i += 2; continue }
                        closed = true; i += 1; break
                    }
                    value.append(chars[i]); i += 1
                }
                if !closed { return .failure(ConfigMessage("unterminated quoted value for \(key)")) }
            } else {
                while i < chars.count, !chars[i].isWhitespace { value.append(chars[i]); i += 1 }
            }
            pairs.append((key.lowercased(), value))
        }
        return .success(pairs)
    }
}

public struct ConfigMessage: Error, Sendable, Equatable {
    public var text: String
    public init(_ text: String) { self.text = text }
}
