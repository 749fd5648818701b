// Whether a statement's answer may be kept for the next client that sends it: only a plain read whose answer depends
// on nothing but the tables it reads and the settings in the key, judged from its profile and what the catalog says.
import SQLAnalysis

/// Why a statement's answer is not cached (nil from `Cacheability.verdict`: it may be).
public enum Uncacheable: String, Sendable, Equatable {
    /// It writes, locks, takes a sequence value, a transaction id or an advisory lock, notifies, or did not parse:
    /// whatever the profile sends to the primary.
    case notARead
    /// DECLARE CURSOR, COPY ... TO, EXPLAIN, SHOW and the like: what they answer is not a query's rows, or they act.
    case notAQuery
    /// BEGIN, COMMIT, SET TRANSACTION and the like: they answer about the session, not the tables.
    case transactionControl
    /// SET, RESET or set_config: its effect is the point, not its answer.
    case setsSession
    /// More than one statement in one Query: the answers come as one.
    case severalStatements
    /// It reads the clock (now(), CURRENT_TIMESTAMP, age(x)...), or draws a random value.
    case timeDependent
    /// Its answer depends on which server ran it or on that server's state (pg_backend_pid(), inet_server_port()...).
    case serverDependent
    /// It calls a function the database declares VOLATILE, or a STABLE user function, which may read tables the
    /// key does not version.
    case unsafeFunction
    /// It reads a system catalog or view (pg_catalog, information_schema): DDL changes them without a write pgswift sees.
    case systemCatalog
    /// It reads a temporary or unlogged table: another session's or another node's may differ.
    case temporaryTable
}

public enum Cacheability {
    /// Built-in functions whose answer changes with time or chance alone.
    static let timeFunctions: Set<String> = [
        "now", "statement_timestamp", "transaction_timestamp", "clock_timestamp", "timeofday", "random", "random_normal",
        "setseed", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "pg_sleep", "pg_sleep_for",
        "pg_sleep_until", "current_setting", "txid_current_snapshot", "pg_current_snapshot",
    ]
    /// Built-in functions whose answer depends on the server that runs it or its state.
    static let serverFunctions: Set<String> = [
        "pg_backend_pid", "inet_server_addr", "inet_server_port", "inet_client_addr", "inet_client_port", "pg_is_in_recovery",
        "pg_last_wal_replay_lsn", "pg_last_wal_receive_lsn", "pg_current_wal_lsn", "pg_current_wal_insert_lsn",
        "pg_last_xact_replay_timestamp", "pg_postmaster_start_time", "pg_conf_load_time", "pg_stat_get_activity", "version",
        "current_query", "pg_blocking_pids", "pg_is_wal_replay_paused", "pg_get_wal_replay_pause_state",
    ]
    static let catalogSchemas: Set<String> = ["pg_catalog", "information_schema", "pg_toast"]

    /// Nil when the statement's answer may be cached; else why not.
    /// - `volatile`: the database's VOLATILE user functions (as its checks list them), by name.
    /// - `stable`: its STABLE user functions, by name.
    /// - `nonPermanent`: its temporary and unlogged tables, by name (schema-qualified or not, as the caller resolved).
    public static func verdict(_ profile: StatementProfile, volatile: Set<String> = [], stable: Set<String> = [],
                               nonPermanent: Set<String> = []) -> Uncacheable? {
        if profile.primaryReason != nil { return .notARead }
        // DECLARE CURSOR, COPY TO, EXPLAIN, SHOW...: their answer is not a query's rows.
        if !profile.plainQuery, profile.transaction == nil, !profile.setsSession { return .notAQuery }
        if profile.transaction != nil { return .transactionControl }
        if profile.setsSession { return .setsSession }
        if profile.statements != 1 { return .severalStatements }
        if profile.readsClock { return .timeDependent }
        for f in profile.functions {
            let builtin = f.schema == nil || f.schema == "pg_catalog"
            if builtin, timeFunctions.contains(f.name) { return .timeDependent }
            if builtin, serverFunctions.contains(f.name) { return .serverDependent }
            // With one argument, the age from now; the profile does not count arguments, so every call is taken so.
            if builtin, f.name == "age" { return .timeDependent }
            if volatile.contains(f.name) || volatile.contains(f.description) || stable.contains(f.name) || stable.contains(f.description) {
                return .unsafeFunction
            }
        }
        for r in profile.relations {
            if let schema = r.schema {
                if catalogSchemas.contains(schema) { return .systemCatalog }
                if schema == "pg_temp" || schema.hasPrefix("pg_temp_") { return .temporaryTable }
            } else if r.name.hasPrefix("pg_") {
                // pg_catalog comes first in every search_path unless named later: an unqualified pg_ name is a catalog.
                return .systemCatalog
            }
            if nonPermanent.contains(r.name) || nonPermanent.contains(r.description) { return .temporaryTable }
        }
        return nil
    }
}
