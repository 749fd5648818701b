// A byte scanner over SQL text that finds the first word of every statement, skipping literals and comments.

/// Cheap enough for every query: no allocation, one pass. It errs towards "may matter" (the full parser decides),
/// never the other way, so a statement hidden behind a comment or in a multi-statement string is still seen.
enum SQLWords {
    /// True if a statement starts with one of `leading`, or any of `anywhere` occurs outside literals and comments.
    static func mayMatter(_ sql: UnsafeRawBufferPointer, leading: [[UInt8]], anywhere: [[UInt8]]) -> Bool {
        let n = sql.count
        var i = 0
        var atStatementStart = true
        while i < n {
            let c = sql[i]
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C:
                i += 1
                continue
            case UInt8(ascii: ";"):
                atStatementStart = true
                i += 1
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                i = skipQuoted(sql, from: i, quote: c)
                atStatementStart = false
                continue
            case UInt8(ascii: "-") where i + 1 < n && sql[i + 1] == UInt8(ascii: "-"):
                while i < n && sql[i] != 0x0A { i += 1 }
                continue
            case UInt8(ascii: "/") where i + 1 < n && sql[i + 1] == UInt8(ascii: "*"):
                i = skipBlockComment(sql, from: i)
                continue
            case UInt8(ascii: "$"):
                if let end = skipDollarQuoted(sql, from: i) {
                    i = end
                    atStatementStart = false
                    continue
                }
            default:
                break
            }
            guard isWordByte(c) else {
                atStatementStart = false
                i += 1
                continue
            }
            var end = i
            while end < n && isWordByte(sql[end]) { end += 1 }
            if atStatementStart && matches(sql, i, end, leading) { return true }
            if containsAny(sql, i, end, anywhere) { return true }
            atStatementStart = false
            i = end
        }
        return false
    }

    /// ASCII letters folded to lower case; every other byte as it is ('_' must stay '_').
    private static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z")) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b >= 0x80
    }

    /// The word sql[start..<end] equals one of `words` (ASCII, any case).
    private static func matches(_ sql: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ words: [[UInt8]]) -> Bool {
        words.contains { w in
            guard w.count == end - start else { return false }
            for k in 0..<w.count where lower(sql[start + k]) != w[k] { return false }
            return true
        }
    }

    /// One of `words` occurs inside the word sql[start..<end] (temp in "temporary", advisory in "pg_advisory_lock").
    private static func containsAny(_ sql: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ words: [[UInt8]]) -> Bool {
        for w in words where w.count <= end - start {
            var p = start
            while p + w.count <= end {
                var k = 0
                while k < w.count && lower(sql[p + k]) == w[k] { k += 1 }
                if k == w.count { return true }
                p += 1
            }
        }
        return false
    }

    private static func skipQuoted(_ sql: UnsafeRawBufferPointer, from start: Int, quote: UInt8) -> Int {
        var i = start + 1
        while i < sql.count {
            if sql[i] == quote {
                if i + 1 < sql.count && sql[i + 1] == quote {
                    i += 2
                    continue
                }
                return i + 1
            }
            i += 1
        }
        return i
    }

    private static func skipBlockComment(_ sql: UnsafeRawBufferPointer, from start: Int) -> Int {
        var depth = 0
        var i = start
        while i + 1 < sql.count {
            if sql[i] == UInt8(ascii: "/") && sql[i + 1] == UInt8(ascii: "*") {
                depth += 1
                i += 2
            } else if sql[i] == UInt8(ascii: "*") && sql[i + 1] == UInt8(ascii: "/") {
                depth -= 1
                i += 2
                if depth == 0 { return i }
            } else {
                i += 1
            }
        }
        return sql.count
    }

    /// $tag$ ... $tag$; nil if this $ does not open one (a parameter like $1, or a bare $).
    private static func skipDollarQuoted(_ sql: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start + 1
        while i < sql.count && sql[i] != UInt8(ascii: "$") {
            let b = sql[i]
            guard isWordByte(b), !(i == start + 1 && b >= 0x30 && b <= 0x39) else { return nil }
            i += 1
        }
        guard i < sql.count else { return nil }
        let tag = start...i
        let tagLength = tag.count
        var j = i + 1
        while j + tagLength <= sql.count {
            var k = 0
            while k < tagLength && sql[j + k] == sql[start + k] { k += 1 }
            if k == tagLength { return j + tagLength }
            j += 1
        }
        return sql.count
    }
}
