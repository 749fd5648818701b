// The welcome's ParameterStatus values worked out without a server, against what PostgreSQL 15 reported for each case.
import Testing

@testable import PoolCore

@Suite("ReportedParameters")
struct ReportedParametersTests {
    @Test("client_encoding spellings are reported under PostgreSQL's name", arguments: [
        ("utf-8", "UTF8"), ("utf8", "UTF8"), ("Utf_8", "UTF8"), ("unicode", "UTF8"), ("Unicode", "UTF8"),
        ("UNICODE", "UNICODE"), ("eucjp", "EUC_JP"), ("EUC-JP", "EUC_JP"), ("euc_jp", "EUC_JP"),
        ("iso-8859-1", "LATIN1"), ("ISO_8859-15", "LATIN9"), ("iso8859_5", "ISO_8859_5"), ("windows-1252", "WIN1252"),
        ("koi8", "KOI8R"), ("mskanji", "SJIS"), ("Shift_JIS_2004", "SHIFT_JIS_2004"), ("sql ascii", "SQL_ASCII"),
        ("tcvn", "WIN1258"), ("win", "WIN1251"), ("alt", "WIN866"),
    ])
    func encodingNames(given: String, reported: String) {
        #expect(ClientEncodingName.reported(given) == reported)
    }

    @Test("names PostgreSQL refuses have no reported name", arguments: [
        "cp1252", "utf16", "ascii", "", "-", String(repeating: "x", count: 60) + "utf8",
    ])
    func refusedEncodings(given: String) {
        #expect(ClientEncodingName.reported(given) == nil)
    }

    static let known = [
        "client_encoding": "UTF8", "DateStyle": "ISO, MDY", "TimeZone": "UTC", "IntervalStyle": "postgres",
        "application_name": "", "standard_conforming_strings": "on", "server_version": "15.18",
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var requested: [String: String]
        /// The values that change from `known`; nil when a server must be asked.
        var changed: [String: String]?
        var testDescription: String { "\(requested)" }
    }

    static let cases: [Case] = [
        Case(requested: [:], changed: [:]),
        Case(requested: ["client_encoding": "utf-8"], changed: [:]),
        Case(requested: ["CLIENT_ENCODING": "unicode"], changed: [:]),
        Case(requested: ["client_encoding": "UNICODE"], changed: nil),
        Case(requested: ["client_encoding": "eucjp"], changed: nil),
        Case(requested: ["client_encoding": "no-such"], changed: nil),
        Case(requested: ["application_name": "psql"], changed: ["application_name": "psql"]),
        Case(requested: ["application_name": "h\u{e9}llo"], changed: nil),
        Case(requested: ["application_name": "tab\there"], changed: nil),
        Case(requested: ["datestyle": "iso, mdy", "timezone": "utc"], changed: [:]),
        Case(requested: ["DateStyle": "ISO,MDY"], changed: nil),
        Case(requested: ["intervalstyle": "POSTGRES", "standard_conforming_strings": "ON"], changed: [:]),
        Case(requested: ["TimeZone": "Europe/Paris"], changed: nil),
        // Case is not folded where PostgreSQL keeps what it was given.
        Case(requested: ["application_name": "PSQL"], changed: ["application_name": "PSQL"]),
        Case(requested: ["server_version": "15.18"], changed: [:]),
        Case(requested: ["server_version": "15.18X"], changed: nil),
        // Settings PostgreSQL does not report leave the welcome as it is.
        Case(requested: ["search_path": "x", "extra_float_digits": "3"], changed: [:]),
    ]

    @Test(arguments: cases)
    func shown(_ c: Case) {
        let got = ReportedParameters.shown(known: Self.known, requested: c.requested)
        #expect(got == c.changed.map { Self.known.merging($0) { _, new in new } })
    }
}
