// Asks a server what session state a client left on it (settings, LISTEN, locks, cursors, temp tables, SQL PREPARE).
import Foundation
import NIOCore
import PoolCore

/// Run after a transaction whose SQL may have changed the session: the server's answer is exact where parsing the
/// client's SQL could only guess (a SET that failed or was rolled back, SET LOCAL, set_config, RESET ALL...).
struct SessionSnapshot: Sendable, Equatable {
    /// Settings the session changed (pg_settings.source = 'session'), in the form SET accepts back.
    var settings: [String: String] = [:]
    var listens = 0
    var advisoryLocks = 0
    var holdCursors = 0
    var tempTables = 0
    var sqlPrepared = 0

    /// Custom settings are missing from pg_settings, so those the client set are asked for by name; so is the role
    /// (SET ROLE), which pg_settings never lists: left unseen, it would stay on the server for its next client.
    static func sql(custom: Set<String>) -> String {
        let names = custom.sorted().map(ParameterSync.quoteLiteral).joined(separator: ",")
        return """
        SELECT (SELECT coalesce(json_object_agg(n, v), '{}') FROM (\
        SELECT name AS n, current_setting(name) AS v FROM pg_settings WHERE source = 'session' UNION ALL \
        SELECT n, current_setting(n, true) FROM unnest(ARRAY[\(names)]::text[]) AS n WHERE coalesce(current_setting(n, true), '') <> '' UNION ALL \
        SELECT 'role', current_setting('role') WHERE current_setting('role') <> 'none'\
        ) AS s), \
        (SELECT count(*) FROM pg_listening_channels()), \
        (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted), \
        (SELECT count(*) FROM pg_cursors WHERE is_holdable), \
        (SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND relnamespace = pg_my_temp_schema()), \
        (SELECT count(*) FROM pg_prepared_statements WHERE from_sql)
        """
    }

    init() {}

    init?(row: [ByteBuffer?]) {
        guard row.count == 6, let json = row[0].flatMap({ $0.getString(at: $0.readerIndex, length: $0.readableBytes) }),
              let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        else { return nil }
        func count(_ i: Int) -> Int { row[i].flatMap { $0.getString(at: $0.readerIndex, length: $0.readableBytes) }.flatMap { Int($0) } ?? 0 }
        settings = object
        listens = count(1)
        advisoryLocks = count(2)
        holdCursors = count(3)
        tempTables = count(4)
        sqlPrepared = count(5)
    }

    /// Why the client must stay on this server, in the words SHOW CLIENTS uses; empty when it may move.
    var pinReasons: [String] {
        var r: [String] = []
        if listens > 0 { r.append("listen") }
        if advisoryLocks > 0 { r.append("advisory lock") }
        if holdCursors > 0 { r.append("cursor with hold") }
        if tempTables > 0 { r.append("temporary table") }
        if sqlPrepared > 0 { r.append("sql prepare") }
        return r
    }
}
