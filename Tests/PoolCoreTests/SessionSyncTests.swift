// The settings SQL a server gets before a client's statement, against what the server already has or reports.
import Testing

@testable import PoolCore

@Suite("SessionSync")
struct SessionSyncTests {
    /// What a fresh server reports at login (it has been given no setting of a client's yet).
    static let fresh = [
        "client_encoding": "UTF8", "DateStyle": "ISO, MDY", "TimeZone": "UTC", "IntervalStyle": "postgres",
        "application_name": "", "standard_conforming_strings": "on", "server_version": "15.18",
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var desired: [String: String]
        var server: [String: String] = [:]
        var reported: [String: String] = SessionSyncTests.fresh
        var sql: String
        var testDescription: String { "\(desired) on \(server)" }
    }

    static func set(_ name: String, _ value: String) -> String {
        "SELECT pg_catalog.set_config('\(name)', '\(value)', false);"
    }

    static let cases: [Case] = [
        Case(desired: [:], sql: ""),
        // Spellings of the encoding the server already reports need no SET.
        Case(desired: ["client_encoding": "utf-8"], sql: ""),
        Case(desired: ["client_encoding": "utf8"], sql: ""),
        Case(desired: ["client_encoding": "UTF8"], sql: ""),
        Case(desired: ["client_encoding": "Unicode"], sql: ""),
        Case(desired: ["client_encoding": "eucjp"], reported: fresh.merging(["client_encoding": "EUC_JP"]) { _, b in b }, sql: ""),
        Case(desired: ["client_encoding": "EUC_JP"], reported: fresh.merging(["client_encoding": "EUC_JP"]) { _, b in b }, sql: ""),
        // A real difference does.
        Case(desired: ["client_encoding": "eucjp"], sql: set("client_encoding", "eucjp")),
        Case(desired: ["client_encoding": "latin1"], sql: set("client_encoding", "latin1")),
        // PostgreSQL reports "UNICODE" written so as given, so it is not what a server reporting UTF8 has.
        Case(desired: ["client_encoding": "UNICODE"], sql: set("client_encoding", "UNICODE")),
        Case(desired: ["client_encoding": "no-such"], sql: set("client_encoding", "no-such")),
        // Case folded only where PostgreSQL reports its own spelling.
        Case(desired: ["timezone": "utc", "datestyle": "iso, mdy", "intervalstyle": "POSTGRES"], sql: ""),
        Case(desired: ["datestyle": "ISO,MDY"], sql: set("datestyle", "ISO,MDY")),
        Case(desired: ["timezone": "Europe/Paris"], sql: set("timezone", "Europe/Paris")),
        Case(desired: ["application_name": ""], sql: ""),
        Case(desired: ["application_name": "psql"], sql: set("application_name", "psql")),
        Case(desired: ["application_name": "h\u{e9}"], reported: fresh.merging(["application_name": "h\u{e9}"]) { _, b in b },
             sql: set("application_name", "h\u{e9}")),
        // Not reported at all: only a SET makes sure.
        Case(desired: ["search_path": "a, b"], sql: set("search_path", "a, b")),
        // A setting the server was given is compared with what it was given, and DateStyle starts again from default.
        Case(desired: ["client_encoding": "utf8"], server: ["client_encoding": "utf8"], sql: ""),
        Case(desired: ["client_encoding": "latin1"], server: ["client_encoding": "utf-8"], sql: set("client_encoding", "latin1")),
        Case(desired: ["datestyle": "ISO"], server: ["datestyle": "German"], sql: "RESET datestyle;" + set("datestyle", "ISO")),
        // What the last client set and this one did not is reset, quoted part by part.
        Case(desired: [:], server: ["app.tenant": "7", "search_path": "x"], sql: "RESET \"app\".\"tenant\";RESET \"search_path\";"),
        Case(desired: ["search_path": "it's"], server: ["statement_timeout": "5s"],
             sql: set("search_path", "it''s") + "RESET \"statement_timeout\";"),
    ]

    @Test(arguments: cases)
    func statements(_ c: Case) {
        #expect(SessionSync.statements(desired: c.desired, server: c.server, reported: c.reported) == c.sql)
    }
}
