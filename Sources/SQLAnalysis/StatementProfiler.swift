// A statement's profile read from PostgreSQL's own parse tree (libpg_query): the slow path, run once per shape.
import CPgQuery
import Foundation

public enum StatementProfiler {
    /// Parses `sql` and reads its profile. Tens of microseconds: callers keep the answer by shape (StatementProfiles).
    public static func profile(_ sql: String) -> StatementProfile {
        var profile = StatementProfile()
        let result = sql.withCString { pg_query_parse($0) }
        defer { pg_query_free_parse_result(result) }
        guard result.error == nil, let tree = result.parse_tree,
              let root = try? JSONSerialization.jsonObject(with: Data(bytes: tree, count: strlen(tree))) as? [String: Any],
              let statements = root["stmts"] as? [Any] else {
            profile.primaryReason = .unparsed
            return profile
        }
        var walk = TreeWalk()
        profile.plainQuery = true
        for case let entry as [String: Any] in statements {
            guard let stmt = entry["stmt"] as? [String: Any], let (type, node) = stmt.first else { continue }
            profile.statements += 1
            if type != "SelectStmt" { profile.plainQuery = false }
            let reason = walk.statement(type, node as? [String: Any] ?? [:])
            if profile.primaryReason == nil { profile.primaryReason = reason }
            if profile.transaction == nil { profile.transaction = walk.transaction }
            walk.transaction = nil
        }
        profile.relations = walk.relations()
        profile.functions = walk.functionNames
        profile.setsSession = walk.setsSession
        profile.readsClock = walk.readsClock
        profile.fingerprint = fingerprint(sql)
        return profile
    }

    static func fingerprint(_ sql: String) -> UInt64? {
        let result = sql.withCString { pg_query_fingerprint($0) }
        defer { pg_query_free_fingerprint_result(result) }
        return result.error == nil ? result.fingerprint : nil
    }

    /// Built-in functions that tie a statement to the primary, by name (unqualified or in pg_catalog).
    static let functionReasons: [String: PrimaryReason] = [
        "nextval": .sequence, "setval": .sequence, "currval": .sequence, "lastval": .sequence,
        "txid_current": .transactionID, "txid_current_if_assigned": .transactionID, "pg_current_xact_id": .transactionID,
        "pg_current_xact_id_if_assigned": .transactionID, "pg_current_wal_lsn": .transactionID,
        "pg_current_wal_insert_lsn": .transactionID, "pg_current_wal_flush_lsn": .transactionID,
        "loread": .largeObject, "lowrite": .largeObject, "pg_notify": .notify,
    ]

    static func reason(forFunction f: QualifiedName) -> PrimaryReason? {
        guard f.schema == nil || f.schema == "pg_catalog" else { return nil }
        if let r = functionReasons[f.name] { return r }
        if f.name.hasPrefix("lo_") { return .largeObject }
        if f.name.hasPrefix("pg_advisory_") || f.name.hasPrefix("pg_try_advisory_") { return .advisoryLock }
        return nil
    }
}

/// One walk over the parse tree of a text's statements: what each statement is, and what they touch and call.
struct TreeWalk {
    private var relationsSeen: [(location: Int, name: QualifiedName)] = []
    private var cteNames: Set<String> = []
    private var functionsSeen: Set<QualifiedName> = []
    private(set) var functionNames: [QualifiedName] = []
    var transaction: TransactionControl?
    private(set) var setsSession = false
    private(set) var readsClock = false
    // Found under the statement being read.
    private var writes = false
    private var locks = false
    private var into = false
    private var functionReason: PrimaryReason?

    /// SQLValueFunction operations that read the clock (the others name the user, role, catalog or schema).
    static let clockKeywords: Set<String> = ["SVFOP_CURRENT_DATE", "SVFOP_CURRENT_TIME", "SVFOP_CURRENT_TIME_N", "SVFOP_CURRENT_TIMESTAMP",
                                             "SVFOP_CURRENT_TIMESTAMP_N", "SVFOP_LOCALTIME", "SVFOP_LOCALTIME_N", "SVFOP_LOCALTIMESTAMP",
                                             "SVFOP_LOCALTIMESTAMP_N"]

    /// Statement types a replica may run (subject to what is inside them).
    static let readTypes: Set<String> = ["SelectStmt", "ExplainStmt", "VariableShowStmt", "VariableSetStmt", "TransactionStmt",
                                         "DeclareCursorStmt", "FetchStmt", "ClosePortalStmt", "CopyStmt", "DeallocateStmt",
                                         "DiscardStmt"]
    static let topReasons: [String: PrimaryReason] = [
        "InsertStmt": .write, "UpdateStmt": .write, "DeleteStmt": .write, "MergeStmt": .write,
        "PrepareStmt": .sqlPrepare, "ExecuteStmt": .sqlPrepare, "ListenStmt": .listen, "UnlistenStmt": .listen,
        "NotifyStmt": .notify, "LockStmt": .lock, "DoStmt": .doBlock, "CallStmt": .call,
        "VacuumStmt": .maintenance, "ClusterStmt": .maintenance, "ReindexStmt": .maintenance,
        "RefreshMatViewStmt": .maintenance, "CheckPointStmt": .maintenance,
    ]

    /// One top-level statement: why it needs the primary, if it does.
    mutating func statement(_ type: String, _ node: [String: Any]) -> PrimaryReason? {
        writes = false
        locks = false
        into = false
        functionReason = nil
        visit(node)
        switch type {
        case "TransactionStmt":
            transaction = Self.transactionControl(node)
        case "VariableSetStmt":
            setsSession = true
            transaction = Self.settingControl(node)
        case "ExplainStmt":
            // Without ANALYZE nothing runs, so even the plan of a write may be made on a replica.
            guard Self.analyzes(node) else { return nil }
            return writes ? .explainAnalyzeWrite : readReason()
        case "CopyStmt":
            if node["is_from"] as? Bool == true { return .copyFrom }
        default:
            break
        }
        if let reason = Self.topReasons[type] { return reason }
        guard Self.readTypes.contains(type) else { return .ddl }
        return readReason()
    }

    private func readReason() -> PrimaryReason? {
        if writes { return .write }
        if into { return .selectInto }
        if locks { return .lockingRead }
        return functionReason
    }

    private mutating func visit(_ value: Any) {
        if let list = value as? [Any] {
            for item in list { visit(item) }
            return
        }
        guard let node = value as? [String: Any] else { return }
        if let name = node["relname"] as? String {
            let location = node["location"] as? Int ?? Int.max
            relationsSeen.append((location, QualifiedName(schema: node["schemaname"] as? String, name)))
        }
        for (key, child) in node {
            switch key {
            case "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
                writes = true
            case "lockingClause":
                if let clauses = child as? [Any], !clauses.isEmpty { locks = true }
            case "intoClause":
                into = true
            case "ctename":
                if let name = child as? String { cteNames.insert(name) }
            case "FuncCall":
                if let call = child as? [String: Any] { noteFunction(call) }
            case "SQLValueFunction":
                if let op = (child as? [String: Any])?["op"] as? String, Self.clockKeywords.contains(op) { readsClock = true }
            default:
                break
            }
            visit(child)
        }
    }

    private mutating func noteFunction(_ call: [String: Any]) {
        let parts = (call["funcname"] as? [Any] ?? []).compactMap { (($0 as? [String: Any])?["String"] as? [String: Any])?["sval"] as? String }
        guard let last = parts.last else { return }
        let name = QualifiedName(schema: parts.count > 1 ? parts[parts.count - 2] : nil, last)
        if functionsSeen.insert(name).inserted { functionNames.append(name) }
        if functionReason == nil { functionReason = StatementProfiler.reason(forFunction: name) }
        if name.name == "set_config" && (name.schema == nil || name.schema == "pg_catalog") { setsSession = true }
    }

    /// Relations in the order written, each once, without the text's own WITH names (unqualified).
    func relations() -> [QualifiedName] {
        var seen: Set<QualifiedName> = []
        var out: [QualifiedName] = []
        for (_, name) in relationsSeen.sorted(by: { $0.location < $1.location }) {
            if name.schema == nil && cteNames.contains(name.name) { continue }
            if seen.insert(name).inserted { out.append(name) }
        }
        return out
    }

    private static func analyzes(_ explain: [String: Any]) -> Bool {
        for case let option as [String: Any] in explain["options"] as? [Any] ?? [] {
            guard let def = option["DefElem"] as? [String: Any], def["defname"] as? String == "analyze" else { continue }
            return boolean(def["arg"]) ?? true
        }
        return false
    }

    /// A DefElem's or A_Const's value as PostgreSQL reads a boolean option (on/off, true/false, yes/no, 1/0).
    static func boolean(_ arg: Any?) -> Bool? {
        guard let arg = arg as? [String: Any] else { return nil }
        if let constant = arg["A_Const"] as? [String: Any] { return boolean(constant) }
        if let b = arg["Boolean"] as? [String: Any] { return b["boolval"] as? Bool ?? false }
        if let b = arg["boolval"] as? [String: Any] { return b["boolval"] as? Bool ?? false }
        // Protobuf's JSON leaves zero out: {"ival":{}} is 0.
        if let i = arg["ival"] as? [String: Any] { return (i["ival"] as? Int ?? 0) != 0 }
        let text = ((arg["String"] as? [String: Any])?["sval"] ?? (arg["sval"] as? [String: Any])?["sval"]) as? String
        switch text?.lowercased() {
        case "on", "true", "yes", "1", "t", "y": return true
        case "off", "false", "no", "0", "f", "n": return false
        default: return nil
        }
    }

    private static func readOnlyOption(_ options: Any?) -> Bool? {
        var readOnly: Bool?
        for case let option as [String: Any] in options as? [Any] ?? [] {
            guard let def = option["DefElem"] as? [String: Any], def["defname"] as? String == "transaction_read_only" else { continue }
            readOnly = boolean(def["arg"])
        }
        return readOnly
    }

    private static func transactionControl(_ node: [String: Any]) -> TransactionControl? {
        let chain = node["chain"] as? Bool ?? false
        switch node["kind"] as? String {
        case "TRANS_STMT_BEGIN", "TRANS_STMT_START": return .begin(readOnly: readOnlyOption(node["options"]))
        case "TRANS_STMT_COMMIT": return .commit(chain: chain)
        case "TRANS_STMT_ROLLBACK": return .rollback(chain: chain)
        case "TRANS_STMT_SAVEPOINT": return .savepoint
        case "TRANS_STMT_RELEASE": return .releaseSavepoint
        case "TRANS_STMT_ROLLBACK_TO": return .rollbackToSavepoint
        case "TRANS_STMT_PREPARE": return .prepareTransaction
        case "TRANS_STMT_COMMIT_PREPARED": return .commitPrepared
        case "TRANS_STMT_ROLLBACK_PREPARED": return .rollbackPrepared
        default: return nil
        }
    }

    /// SET TRANSACTION, SET SESSION CHARACTERISTICS and default_transaction_read_only as transaction control.
    private static func settingControl(_ node: [String: Any]) -> TransactionControl? {
        let name = (node["name"] as? String)?.lowercased()
        switch name {
        case "transaction":
            return .setTransaction(readOnly: readOnlyOption(node["args"]))
        case "session characteristics":
            return .sessionDefault(readOnly: readOnlyOption(node["args"]))
        case "default_transaction_read_only":
            // RESET, SET ... TO DEFAULT: back to the server's default, which only the server knows.
            guard node["kind"] as? String == "VAR_SET_VALUE", let first = (node["args"] as? [Any])?.first else {
                return .sessionDefault(readOnly: nil)
            }
            return .sessionDefault(readOnly: boolean(first))
        default:
            return nil
        }
    }
}
