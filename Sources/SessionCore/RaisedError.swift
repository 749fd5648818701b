// SQL that has PostgreSQL itself raise an error of pgswift's choosing, so it fails a transaction as any error does.
import PGWire

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

extension RaisedError {
    /// PostgreSQL's message when a prepared statement's result columns changed since it was prepared.
    public static let stalePlan = "cached plan must not change result type"

    /// The error raised in place of a stale plan's Bind, made to say where PostgreSQL's own comes from: drivers tell it
    /// by its routine, not by its (translatable) message (asyncpg's InvalidCachedStatementError, which makes it prepare
    /// the statement again), and the DO block that raised it would name PL/pgSQL's.
    public static func placeAsStalePlan(_ fields: inout ErrorFields) {
        let origin: [(code: UInt8, value: String)] = [
            (UInt8(ascii: "F"), "plancache.c"), (UInt8(ascii: "L"), stalePlanLine), (UInt8(ascii: "R"), "RevalidateCachedQuery"),
        ]
        fields.fields.removeAll { f in origin.contains { $0.code == f.code } }
        fields.fields.append(contentsOf: origin)
    }

    /// The line PostgreSQL 15.18 (what pgswift is tested against) raises it from; other versions differ, and no
    /// client reads it.
    static let stalePlanLine = "722"
}
