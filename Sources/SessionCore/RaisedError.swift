// SQL that has PostgreSQL itself raise an error of pgswift's choosing, so it fails a transaction as any error does.

public enum RaisedError {
    /// A DO block raising `message` with `sqlState`; the message is quoted so that no text can end the block early.
    public static func sql(sqlState: String, message: String) -> String {
        var text = ""
        for ch in message {
            text.append(ch)
            if ch == "'" { text.append("'") }
        }
        while let r = text.firstRange(of: "$pgswift$") { text.replaceSubrange(r, with: "$pgswift $") }
        return "DO $pgswift$BEGIN RAISE EXCEPTION USING ERRCODE = '\(sqlState)', MESSAGE = '\(text)'; END$pgswift$"
    }
}
