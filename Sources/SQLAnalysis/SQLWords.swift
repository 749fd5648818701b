// A byte scanner over SQL text that finds the first word of every statement, skipping literals and comments.

/// Cheap enough for every query: no allocation, one pass. It errs towards "may matter" (the full parser decides),
/// never the other way, so a statement hidden behind a comment or in a multi-statement string is still seen.
enum SQLWords {
    /// A word of at most 16 bytes packed into two integers, so a set of them is plain data (no reference counting
    /// while a scan walks it).
    struct PackedWord: Sendable {
        let lo: UInt64
        let hi: UInt64
        let count: Int

        init(_ bytes: [UInt8]) {
            precondition(bytes.count <= 16, "keywords are at most 16 bytes")
            var lo: UInt64 = 0, hi: UInt64 = 0
            for (k, b) in bytes.enumerated() {
                if k < 8 { lo |= UInt64(b) << UInt64(8 * k) } else { hi |= UInt64(b) << UInt64(8 * (k - 8)) }
            }
            self.lo = lo
            self.hi = hi
            self.count = bytes.count
        }

        func byte(_ k: Int) -> UInt8 {
            k < 8 ? UInt8(truncatingIfNeeded: lo >> UInt64(8 * k)) : UInt8(truncatingIfNeeded: hi >> UInt64(8 * (k - 8)))
        }
    }

    /// Words to look for, lower case, with the set of their first bytes so most positions are rejected by one test.
    struct WordSet: Sendable {
        let words: [PackedWord]
        private let firsts: (UInt64, UInt64, UInt64, UInt64)
        /// The shortest and longest word: a shorter word of SQL cannot be one nor hold one, a longer cannot be one.
        let shortest: Int
        let longest: Int

        init(_ words: [String]) {
            self.words = words.map { PackedWord(Array($0.lowercased().utf8)) }
            shortest = self.words.map(\.count).min() ?? Int.max
            longest = self.words.map(\.count).max() ?? 0
            var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            for w in self.words where w.count > 0 {
                let b = Int(w.byte(0))
                switch b >> 6 {
                case 0: bits.0 |= 1 << UInt64(b & 63)
                case 1: bits.1 |= 1 << UInt64(b & 63)
                case 2: bits.2 |= 1 << UInt64(b & 63)
                default: bits.3 |= 1 << UInt64(b & 63)
                }
            }
            firsts = bits
        }

        var isEmpty: Bool { words.isEmpty }

        func mayStart(_ lowered: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(lowered & 63)
            switch lowered >> 6 {
            case 0: return firsts.0 & bit != 0
            case 1: return firsts.1 & bit != 0
            case 2: return firsts.2 & bit != 0
            default: return firsts.3 & bit != 0
            }
        }
    }

    /// What one pass found: a statement starting with a `leading` word or an `anywhere` word outside literals and
    /// comments (`matched`), and a statement starting with a `second` word (`second`).
    struct Findings: Equatable {
        var matched = false
        var second = false
    }

    /// True if a statement starts with one of `leading`, or any of `anywhere` occurs outside literals and comments.
    static func mayMatter(_ sql: UnsafeRawBufferPointer, leading: WordSet, anywhere: WordSet) -> Bool {
        scan(sql, leading: leading, anywhere: anywhere, second: WordSet([])).matched
    }

    /// Built once: the default of `scan`'s `whole`, which the data path never passes.
    static let noWords = WordSet([])

    /// True if one of `words` occurs as a whole word outside literals and comments (`function`, not `function_log`).
    static func hasWord(_ sql: UnsafeRawBufferPointer, _ words: WordSet) -> Bool {
        scan(sql, leading: noWords, anywhere: noWords, second: noWords, whole: words).matched
    }

    /// One pass for two questions; it stops as soon as both are answered. `whole`: words that match anywhere, but only
    /// whole (no caller on the data path passes any).
    static func scan(_ sql: UnsafeRawBufferPointer, leading: WordSet, anywhere: WordSet, second: WordSet,
                     whole: WordSet = noWords) -> Findings {
        var found = Findings()
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
                i = skipQuoted(sql, from: i, quote: c).end
                atStatementStart = false
                continue
            case UInt8(ascii: "-") where i + 1 < n && sql[i + 1] == UInt8(ascii: "-"):
                while i < n && sql[i] != 0x0A { i += 1 }
                continue
            case UInt8(ascii: "/") where i + 1 < n && sql[i + 1] == UInt8(ascii: "*"):
                i = skipBlockComment(sql, from: i).end
                continue
            case UInt8(ascii: "$"):
                if let (end, _) = skipDollarQuoted(sql, from: i) {
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
            if atStatementStart {
                if !found.matched && matches(sql, i, end, leading) { found.matched = true }
                if !found.second && matches(sql, i, end, second) { found.second = true }
            }
            if !found.matched && containsAny(sql, i, end, anywhere) { found.matched = true }
            if !found.matched && !whole.isEmpty && matches(sql, i, end, whole) { found.matched = true }
            if found.matched && (found.second || second.isEmpty) { return found }
            atStatementStart = false
            i = end
        }
        return found
    }

    /// ASCII letters folded to lower case; every other byte as it is ('_' must stay '_').
    static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z")) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b >= 0x80
    }

    /// The word sql[start..<end] equals one of `words` (ASCII, any case).
    private static func matches(_ sql: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ set: WordSet) -> Bool {
        guard end - start >= set.shortest, end - start <= set.longest, set.mayStart(lower(sql[start])) else { return false }
        for w in set.words where w.count == end - start {
            var k = 0
            while k < w.count && lower(sql[start + k]) == w.byte(k) { k += 1 }
            if k == w.count { return true }
        }
        return false
    }

    /// One of `words` occurs inside the word sql[start..<end] (temp in "temporary", advisory in "pg_advisory_lock").
    private static func containsAny(_ sql: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ set: WordSet) -> Bool {
        guard end - start >= set.shortest else { return false }
        for p in start...(end - set.shortest) where set.mayStart(lower(sql[p])) {
            for w in set.words where p + w.count <= end {
                var k = 0
                while k < w.count && lower(sql[p + k]) == w.byte(k) { k += 1 }
                if k == w.count { return true }
            }
        }
        return false
    }

    // The skips say whether the literal or comment closed: QueryShape must not take an open one for a whole one.

    /// A quoted string or identifier from its opening quote; two quotes in a row are one.
    static func skipQuoted(_ sql: UnsafeRawBufferPointer, from start: Int, quote: UInt8) -> (end: Int, closed: Bool) {
        var i = start + 1
        while i < sql.count {
            if sql[i] == quote {
                if i + 1 < sql.count && sql[i + 1] == quote {
                    i += 2
                    continue
                }
                return (i + 1, true)
            }
            i += 1
        }
        return (i, false)
    }

    /// A block comment from its "/*", nested as PostgreSQL nests them.
    static func skipBlockComment(_ sql: UnsafeRawBufferPointer, from start: Int) -> (end: Int, closed: Bool) {
        var depth = 0
        var i = start
        while i + 1 < sql.count {
            if sql[i] == UInt8(ascii: "/") && sql[i + 1] == UInt8(ascii: "*") {
                depth += 1
                i += 2
            } else if sql[i] == UInt8(ascii: "*") && sql[i + 1] == UInt8(ascii: "/") {
                depth -= 1
                i += 2
                if depth == 0 { return (i, true) }
            } else {
                i += 1
            }
        }
        return (sql.count, false)
    }

    /// $tag$ ... $tag$; nil if this $ does not open one (a parameter like $1, or a bare $).
    static func skipDollarQuoted(_ sql: UnsafeRawBufferPointer, from start: Int) -> (end: Int, closed: Bool)? {
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
            if k == tagLength { return (j + tagLength, true) }
            j += 1
        }
        return (sql.count, false)
    }
}
