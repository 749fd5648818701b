// What routing, the result cache and query insight need to know of a statement: whether only the primary may run
// it and why, what it touches and calls, and whether it controls a transaction.

/// A name as the statement wrote it: the schema only when it was given (resolving it is the caller's job, with the
/// client's search_path).
public struct QualifiedName: Hashable, Sendable, CustomStringConvertible {
    public var schema: String?
    public var name: String

    public init(schema: String? = nil, _ name: String) {
        self.schema = schema
        self.name = name
    }

    public var description: String { schema.map { "\($0).\(name)" } ?? name }
}

/// Why a statement must run on the primary.
public enum PrimaryReason: String, Sendable, Equatable {
    /// INSERT, UPDATE, DELETE or MERGE, at the top or in a WITH.
    case write
    /// SELECT ... FOR UPDATE / FOR SHARE.
    case lockingRead
    /// SELECT ... INTO creates a table.
    case selectInto
    /// nextval, setval, currval, lastval: sequences and the session's memory of them.
    case sequence
    /// txid_current and friends, and the current WAL position: a replica has none of its own.
    case transactionID
    /// Large objects (lo_*, loread, lowrite).
    case largeObject
    /// pg_advisory_* and pg_try_advisory_*.
    case advisoryLock
    /// NOTIFY or pg_notify.
    case notify
    /// LISTEN or UNLISTEN.
    case listen
    case lock
    case doBlock
    case call
    /// Anything that is neither a read nor one of the above: DDL, GRANT, ...
    case ddl
    /// VACUUM, ANALYZE, CLUSTER, REINDEX, REFRESH MATERIALIZED VIEW, CHECKPOINT.
    case maintenance
    /// EXPLAIN ANALYZE runs what it explains.
    case explainAnalyzeWrite
    case copyFrom
    /// SQL-level PREPARE and EXECUTE: what runs is decided elsewhere.
    case sqlPrepare
    /// PostgreSQL's parser refused it: the primary reports the error as well as any node.
    case unparsed
    /// It calls a user function the database declares VOLATILE (or write_functions lists): it may write.
    case volatileFunction
}

/// A transaction-control statement, as routing needs to follow it.
public enum TransactionControl: Sendable, Equatable {
    /// BEGIN or START TRANSACTION; `readOnly`: as the statement said (nil: not said).
    case begin(readOnly: Bool?)
    case commit(chain: Bool)
    case rollback(chain: Bool)
    case savepoint
    case releaseSavepoint
    case rollbackToSavepoint
    case prepareTransaction
    case commitPrepared
    case rollbackPrepared
    /// SET TRANSACTION ...; `readOnly` as above.
    case setTransaction(readOnly: Bool?)
    /// SET SESSION CHARACTERISTICS AS TRANSACTION ..., or SET/RESET default_transaction_read_only; nil: reset.
    case sessionDefault(readOnly: Bool?)
}

public struct StatementProfile: Sendable, Equatable {
    /// Why only the primary may run it; nil when a replica may, as far as the text shows (the functions it calls may
    /// still be VOLATILE: that is in the catalog, not the text).
    public var primaryReason: PrimaryReason?
    /// Relations read or written, in the order written, each once; names of the statement's own WITH queries are not
    /// relations.
    public var relations: [QualifiedName] = []
    /// Functions called, in the order written, each once.
    public var functions: [QualifiedName] = []
    /// The transaction control it is (for several statements in one text, the first there is).
    public var transaction: TransactionControl?
    /// It changes session settings (SET, RESET, set_config): the values it carries matter, so it is never known by
    /// its shape.
    public var setsSession = false
    /// Statements in the text (a simple Query may carry several).
    public var statements = 0
    /// It reads the clock through SQL's own keywords (CURRENT_DATE, CURRENT_TIMESTAMP, LOCALTIME...), which the
    /// parser gives as no function call: its answer changes with time alone.
    public var readsClock = false
    /// libpg_query's fingerprint: one per statement shape, whatever the literals (nil when it did not parse).
    public var fingerprint: UInt64?
    /// Every statement is a query (SELECT, VALUES, TABLE): not a cursor, COPY, EXPLAIN, SHOW or anything else whose
    /// answer is about the session or has effects.
    public var plainQuery = false
    /// What SessionStateScan's keyword pass finds in the text, when the profile came through StatementProfiles: the
    /// session scan of the same text then skips that pass.
    public var sessionWords: SessionStateScan.Words?

    public init() {}

    public var parsed: Bool { primaryReason != .unparsed }

    /// The relations' bare names (schema dropped), each once, in the order first named: what the result cache's
    /// versions follow.
    public var tableNames: [String] {
        var names: [String] = []
        for r in relations where !names.contains(r.name) { names.append(r.name) }
        return names
    }
}
