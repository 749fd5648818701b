// Decides whether a client's SQL may change state that lives in its server session (settings, LISTEN, locks, temp tables...).
import CPgQuery
import Foundation

/// Two stages: a scan for keywords that costs nothing measurable, then PostgreSQL's own parser (libpg_query) on the few
/// texts that pass it, so that `UPDATE t SET x = 1` is not taken for a SET.
public enum SessionStateScan {
    /// Statements that can change the session start with one of these words.
    static let leadingWords = SQLWords.WordSet(["set", "reset", "listen", "unlisten", "prepare", "deallocate", "discard", "close",
                                                "declare", "create", "drop", "do", "call"])
    /// Calls and clauses that can change it from inside any statement (SELECT set_config(...), SELECT ... INTO TEMP).
    static let anywhereWords = SQLWords.WordSet(["set_config", "advisory", "temp"])

    /// Parse-tree node names and function names whose presence means the session may have changed.
    /// Functions are matched as name nodes ({"String":{"sval":...}}), so a string constant with the same text is not one.
    static let markers = ["VariableSetStmt", "DiscardStmt", "DoStmt", "CallStmt", "ListenStmt", "UnlistenStmt", "DeclareCursorStmt", "ClosePortalStmt",
                          "\"relpersistence\":\"t\"", "PrepareStmt", "DeallocateStmt", "DropStmt",
                          "{\"String\":{\"sval\":\"set_config\"", "{\"String\":{\"sval\":\"pg_advisory_lock",
                          "{\"String\":{\"sval\":\"pg_try_advisory_lock", "{\"String\":{\"sval\":\"pg_advisory_unlock"]

    /// What running some SQL may do to its session.
    public struct Effect: Equatable, Sendable {
        /// Custom settings (with a dot in the name) it sets: PostgreSQL lists those nowhere, so they must be named.
        public var customSettings: [String] = []
        /// It may create state that cannot move to another server (LISTEN, a session advisory lock, a WITH HOLD
        /// cursor, a temp table, SQL PREPARE), as opposed to settings or undoing such state.
        public var pins = false
        /// It deallocates or discards prepared statements (DEALLOCATE, DISCARD), possibly ones a proxy shares.
        public var dropsStatements = false
    }

    /// The markers of `Effect.pins`.
    static let pinMarkers = ["ListenStmt", "\"relpersistence\":\"t\"", "PrepareStmt",
                             "{\"String\":{\"sval\":\"pg_advisory_lock", "{\"String\":{\"sval\":\"pg_try_advisory_lock"]

    /// nil if running `sql` leaves the session as it found it; otherwise what it may change.
    public static func effect(of sql: UnsafeRawBufferPointer) -> Effect? {
        guard SQLWords.mayMatter(sql, leading: leadingWords, anywhere: anywhereWords) else { return nil }
        return parsedEffect(of: sql)
    }

    /// The keyword pass's answers: whether the text may change the session (the parser then decides), and whether
    /// it may change the schema. Literals and comments are skipped, so every text of one exact shape has the same.
    public struct Words: Sendable, Equatable {
        public var mayChangeSession: Bool
        public var changesSchema: Bool

        public init(mayChangeSession: Bool, changesSchema: Bool) {
            self.mayChangeSession = mayChangeSession
            self.changesSchema = changesSchema
        }
    }

    public static func words(_ sql: UnsafeRawBufferPointer) -> Words {
        let found = SQLWords.scan(sql, leading: leadingWords, anywhere: anywhereWords, second: ddlWords)
        return Words(mayChangeSession: found.matched, changesSchema: found.second)
    }

    /// Both questions a proxy asks of every statement, in one pass over the text: what it may do to the session,
    /// and whether it may change the schema (see `mayChangeSchema`). `known`: the keyword pass's answers for this
    /// text when a profile already has them.
    public static func classify(_ sql: UnsafeRawBufferPointer, known: Words? = nil) -> (effect: Effect?, changesSchema: Bool) {
        let found = known ?? words(sql)
        return (found.mayChangeSession ? parsedEffect(of: sql) : nil, found.changesSchema)
    }

    private static func parsedEffect(of sql: UnsafeRawBufferPointer) -> Effect? {
        let text = String(decoding: sql, as: UTF8.self)
        let result = text.withCString { pg_query_parse($0) }
        defer { pg_query_free_parse_result(result) }
        // Text PostgreSQL cannot parse fails there too, and a failed statement changes nothing.
        guard result.error == nil, let tree = result.parse_tree else { return nil }
        let json = String(cString: tree)
        guard markers.contains(where: { json.contains($0) }) else { return nil }
        var effect = Effect()
        effect.pins = pinMarkers.contains { json.contains($0) }
        effect.dropsStatements = json.contains("DeallocateStmt") || json.contains("DiscardStmt")
        // The tree is decoded (once) only for what substring tests cannot tell: custom setting names, and whether a
        // DECLARE is WITH HOLD (one without it ends with its transaction and pins nothing).
        let declares = json.contains("DeclareCursorStmt")
        if declares || json.contains("."), let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) {
            var holds = false
            walk(root, names: &effect.customSettings, holds: &holds)
            if declares && holds { effect.pins = true }
        }
        return effect
    }

    public static func effect(of sql: String) -> Effect? {
        var s = sql
        return s.withUTF8 { effect(of: UnsafeRawBufferPointer($0)) }
    }

    public static func mayChangeSession(_ sql: String) -> Bool { effect(of: sql) != nil }

    /// DDL: after it, a prepared statement may return other columns ("cached plan must not change result type").
    public static func mayChangeSchema(_ sql: UnsafeRawBufferPointer) -> Bool {
        SQLWords.mayMatter(sql, leading: ddlWords, anywhere: SQLWords.WordSet([]))
    }

    public static func mayChangeSchema(_ sql: String) -> Bool {
        var s = sql
        return s.withUTF8 { mayChangeSchema(UnsafeRawBufferPointer($0)) }
    }

    static let ddlWords = SQLWords.WordSet(["alter", "drop", "create"])

    /// DDL that may make, change or drop functions (what routing lists as VOLATILE): asked only of DDL, which is rare.
    public static func mayChangeFunctions(_ sql: UnsafeRawBufferPointer) -> Bool {
        SQLWords.hasWord(sql, functionWords)
    }

    static let functionWords = SQLWords.WordSet(["function", "procedure", "routine", "extension", "schema"])

    /// One pass over the parse tree: names set by SET x.y / RESET x.y / set_config('x.y', ...) with a literal name,
    /// and whether a DECLARE has the WITH HOLD option bit (CURSOR_OPT_HOLD = 0x20).
    private static func walk(_ node: Any, names: inout [String], holds: inout Bool) {
        if let dict = node as? [String: Any] {
            if let set = dict["VariableSetStmt"] as? [String: Any], let name = set["name"] as? String, name.contains(".") {
                names.append(name.lowercased())
            }
            if let call = dict["FuncCall"] as? [String: Any], functionName(call) == "set_config",
               let args = call["args"] as? [Any], let first = args.first as? [String: Any],
               let constant = first["A_Const"] as? [String: Any], let str = constant["sval"] as? [String: Any],
               let name = str["sval"] as? String, name.contains(".") {
                names.append(name.lowercased())
            }
            if let declare = dict["DeclareCursorStmt"] as? [String: Any], let options = declare["options"] as? Int, options & 0x20 != 0 {
                holds = true
            }
            for value in dict.values { walk(value, names: &names, holds: &holds) }
        } else if let array = node as? [Any] {
            for value in array { walk(value, names: &names, holds: &holds) }
        }
    }

    private static func functionName(_ call: [String: Any]) -> String? {
        guard let parts = call["funcname"] as? [Any], let last = parts.last as? [String: Any],
              let string = last["String"] as? [String: Any] else { return nil }
        return string["sval"] as? String
    }
}
