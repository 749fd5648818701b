// Asks a server what session state a client left on it (settings, LISTEN, locks, cursors, temp tables, SQL PREPARE).
import Foundation
import NIOCore

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

    /// Custom settings are missing from pg_settings, so those the client set are asked for by name.
    static func sql(custom: Set<String>) -> String {
        let names = custom.sorted().map(ParameterSync.quoteLiteral).joined(separator: ",")
        return """
        SELECT (SELECT coalesce(json_object_agg(n, v), '{}') FROM (\
        SELECT name AS n, current_setting(name) AS v FROM pg_settings WHERE source = 'session' UNION ALL \
        SELECT n, current_setting(n, true) FROM unnest(ARRAY[\(names)]::text[]) AS n WHERE coalesce(current_setting(n, true), '') <> ''\
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

enum SessionSync {
    /// Statements that take a server session from the settings pgswift knows it has to the ones the client wants
    /// (its startup parameters, overlaid by what its own SETs left). set_config, not SET, so that a list value such
    /// as a search_path is taken as PostgreSQL took it at startup. A setting the server has never been given is
    /// left alone when the server already reports that value (client_encoding, DateStyle... on a fresh server).
    static func statements(desired: [String: String], server: [String: String], reported: [String: String]) -> String {
        if desired == server { return "" }
        var sql = ""
        var reportedLower: [String: String]?
        for (name, value) in desired.sorted(by: { $0.key < $1.key }) where server[name] != value {
            if server[name] == nil {
                if reportedLower == nil { reportedLower = Dictionary(reported.map { ($0.key.lowercased(), $0.value) }) { _, b in b } }
                if let have = reportedLower?[name], have == value || (name != "application_name" && have.lowercased() == value.lowercased()) {
                    continue
                }
            } else if name == "datestyle" {
                // PostgreSQL merges a DateStyle with the current one ("SQL" keeps the order a last client chose): from
                // the session's own default it comes out as it would for this client on a fresh connection.
                sql += "RESET datestyle;"
            }
            sql += "SELECT pg_catalog.set_config(\(ParameterSync.quoteLiteral(name)), \(ParameterSync.quoteLiteral(value)), false);"
        }
        for name in server.keys.sorted() where desired[name] == nil {
            sql += "RESET \(name.split(separator: ".").map { ParameterSync.quoteIdentifier(String($0)) }.joined(separator: "."));"
        }
        return sql
    }
}
