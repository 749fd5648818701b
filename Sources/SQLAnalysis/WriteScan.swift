// Whether a statement may write, by one pass over its words, before anything is parsed: most statements a client
// sends (BEGIN, a plain SELECT) need no profile at all for the result cache to know they write nothing.
public enum WriteScan {
    /// Words that make even a SELECT write: SELECT ... INTO a new table, a data-modifying WITH.
    /// (PREPARED: COMMIT PREPARED makes another session's writes visible.)
    static let anywhere = SQLWords.WordSet(["insert", "update", "delete", "merge", "into", "analyze", "prepared"])

    /// False only when the text surely writes nothing: no parenthesis (no function call, no subquery that could hold
    /// a write) and no word that starts or makes a write. Errs towards true: the profile then decides.
    public static func mayWrite(_ sql: UnsafeRawBufferPointer) -> Bool {
        if sql.contains(UInt8(ascii: "(")) { return true }
        // A plain SELECT of columns: only INTO or a write word anywhere makes it one.
        return SQLWords.hasWord(sql, anywhere) || startsWithWriteWord(sql)
    }

    /// The statement's first word is one that may write (SELECT, VALUES and TABLE count only with `anywhere` words).
    private static func startsWithWriteWord(_ sql: UnsafeRawBufferPointer) -> Bool {
        SQLWords.mayMatter(sql, leading: leadingWrites, anywhere: SQLWords.noWords)
    }

    /// First words of statements that may change rows or the schema.
    static let leadingWrites = SQLWords.WordSet([
        "insert", "update", "delete", "merge", "truncate", "copy", "call", "do", "execute", "prepare", "alter", "create", "drop",
        "grant", "revoke", "comment", "refresh", "reindex", "cluster", "vacuum", "import", "reassign", "security", "lock", "with",
        "explain",
    ])
}
